import type { Deps } from '../../platform/deps.ts'
import type { Queryable } from '../../platform/db.ts'
import { AppError, NotFound } from '../../platform/errors.ts'
import { discounted, money, type Money } from '../../platform/money.ts'
import { sellableVariant, variantOnSale } from '../products/service.ts'
import { MAX_LINE_QUANTITY } from './schemas.ts'

// The cart (SPEC 8.3): lines point at variants; prices are read live, never stored, so the
// cart always shows what checkout will charge.

export interface CartLine {
  id: string
  variantId: string
  productId: string
  workspaceId: string
  title: string
  size: string | null
  sku: string
  quantity: number
  stock: number
  /** On sale now (products' onSale: the catalog's rule). */
  sold: boolean
  available: boolean
  unitPrice: Money
  lineTotal: Money
}
export interface CartView { items: CartLine[], totals: Money[], itemCount: number }

export const outOfStock = (variantId: string, available: number) =>
  new AppError(409, 'OUT_OF_STOCK', `Only ${available} left of variant ${variantId}.`, { extra: { variantId, available } })

/** Cart lines with what checkout needs: live prices, stock and whether the product is still sold. */
export async function cartLines (db: Queryable, userId: string): Promise<CartLine[]> {
  const rows = await db.selectFrom('cartItems as c')
    .innerJoin('productVariants as v', 'v.id', 'c.variantId')
    .innerJoin('products as p', 'p.id', 'v.productId')
    .select([
      'c.id', 'c.variantId', 'c.quantity', 'p.id as productId', 'p.workspaceId', 'p.title', 'v.size', 'v.sku', 'v.stock',
      'v.priceAmount as variantPrice', 'p.priceAmount', 'p.discountPercentage', 'p.currency',
      variantOnSale('v', 'p').as('sold')
    ])
    .where('c.userId', '=', userId)
    .orderBy('c.createdAt').orderBy('c.id')
    .execute()
  return rows.map((r) => {
    const unit = discounted(r.variantPrice ?? r.priceAmount, r.discountPercentage)
    return {
      id: r.id,
      variantId: r.variantId,
      productId: r.productId,
      workspaceId: r.workspaceId,
      title: r.title,
      size: r.size,
      sku: r.sku,
      quantity: r.quantity,
      stock: r.stock,
      sold: r.sold === true,
      available: r.sold === true && r.stock >= r.quantity,
      unitPrice: money(unit, r.currency),
      lineTotal: money(unit * r.quantity, r.currency)
    }
  })
}

export function totalsByCurrency (lines: Array<{ lineTotal: Money }>): Money[] {
  const totals = new Map<string, number>()
  for (const line of lines) totals.set(line.lineTotal.currency, (totals.get(line.lineTotal.currency) ?? 0) + line.lineTotal.amount)
  return [...totals].map(([currency, amount]) => money(amount, currency))
}

export async function getCart (deps: Deps, userId: string): Promise<CartView> {
  const items = await cartLines(deps.db, userId)
  // A line no longer on sale has no price to pay: shown (marked unavailable), not totalled.
  return { items, totals: totalsByCurrency(items.filter((i) => i.sold)), itemCount: items.reduce((n, i) => n + i.quantity, 0) }
}

/** Adds to the line of that variant (or starts one); never beyond the stock. */
export async function addToCart (deps: Deps, userId: string, variantId: string, quantity: number): Promise<CartView> {
  await deps.db.transaction().execute(async (trx) => {
    // Off sale is "not found", as in the catalog: whether such a variant exists is not revealed.
    const variant = await sellableVariant(trx, variantId)
    if (!variant) throw new AppError(404, 'NOT_FOUND', 'variant not found', { errors: [{ pointer: '/body/variantId', detail: 'is not a variant on sale' }] })
    const { stock } = variant
    const line = await trx.insertInto('cartItems')
      .values({ id: deps.random.uuid(), userId, variantId, quantity })
      .onConflict((oc) => oc.columns(['userId', 'variantId']).doUpdateSet((eb) => ({ quantity: eb('cartItems.quantity', '+', eb.ref('excluded.quantity')), updatedAt: deps.clock.now() })))
      .returning('quantity')
      .executeTakeFirstOrThrow()
    // Checked after the upsert, inside the transaction: a concurrent add for the same line
    // waits on the row and sees the sum. Over the stock rolls the whole change back.
    if (line.quantity > stock) throw outOfStock(variantId, stock)
    // Adding must not build a line that PATCH could not set.
    if (line.quantity > MAX_LINE_QUANTITY) {
      throw new AppError(409, 'QUANTITY_LIMIT', `A cart line holds at most ${MAX_LINE_QUANTITY}.`, { errors: [{ pointer: '/body/quantity', detail: `would make the line more than ${MAX_LINE_QUANTITY}` }] })
    }
  })
  return getCart(deps, userId)
}

export async function setCartQuantity (deps: Deps, userId: string, itemId: string, quantity: number): Promise<CartView> {
  await deps.db.transaction().execute(async (trx) => {
    const item = await trx.selectFrom('cartItems').select('variantId').where('id', '=', itemId).where('userId', '=', userId).forUpdate().executeTakeFirst()
    if (!item) throw NotFound('cart item')
    // The line exists (GET /cart lists it), so its product going off sale is a conflict, not a 404.
    const variant = await sellableVariant(trx, item.variantId)
    if (!variant) throw new AppError(409, 'PRODUCT_UNAVAILABLE', 'This product is no longer sold; remove the line from the cart.', { extra: { variantIds: [item.variantId] } })
    const { stock } = variant
    if (quantity > stock) throw outOfStock(item.variantId, stock)
    await trx.updateTable('cartItems').set({ quantity, updatedAt: deps.clock.now() }).where('id', '=', itemId).execute()
  })
  return getCart(deps, userId)
}

export async function removeCartItem (deps: Deps, userId: string, itemId: string): Promise<void> {
  const result = await deps.db.deleteFrom('cartItems').where('id', '=', itemId).where('userId', '=', userId).executeTakeFirst()
  if (Number(result.numDeletedRows) === 0) throw NotFound('cart item')
}

export async function clearCart (db: Queryable, userId: string): Promise<void> {
  await db.deleteFrom('cartItems').where('userId', '=', userId).execute()
}
