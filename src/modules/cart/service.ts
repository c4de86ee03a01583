import type { Deps } from '../../platform/deps.ts'
import type { Queryable, Trx } from '../../platform/db.ts'
import { Conflict, NotFound } from '../../platform/errors.ts'
import { discounted, money, type Money } from '../../platform/money.ts'
import { outOfStock, sellableVariant, variantFacts } from '../products/public.ts'
import { MAX_LINE_QUANTITY, type CartLine, type CartView } from './schemas.ts'

// The cart (SPEC 8.3): lines point at variants; prices are read live, never stored, so the
// cart always shows what checkout will charge.

/** Cart lines with what checkout needs: live prices, stock and whether the product is still sold. */
export async function cartLines (db: Queryable, userId: string): Promise<CartLine[]> {
  const rows = await db.selectFrom('cartItems as c')
    .innerJoin(variantFacts(db).as('v'), 'v.id', 'c.variantId')
    .select(['c.id', 'c.variantId', 'c.quantity', 'v.productId', 'v.workspaceId', 'v.title', 'v.size', 'v.sku', 'v.stock', 'v.listAmount', 'v.discountPercentage', 'v.currency', 'v.sold'])
    .where('c.userId', '=', userId)
    .orderBy('c.createdAt').orderBy('c.id')
    .execute()
  return rows.map((r) => {
    const unit = discounted(r.listAmount, r.discountPercentage)
    const sold = r.sold === true
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
      sold,
      available: sold && r.stock >= r.quantity,
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
    if (!variant) throw NotFound('NOT_FOUND', 'variant not found', { field: '/body/variantId', fieldDetail: 'is not a variant on sale' })
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
      throw Conflict('QUANTITY_LIMIT', `A cart line holds at most ${MAX_LINE_QUANTITY}.`, { field: '/body/quantity', fieldDetail: `would make the line more than ${MAX_LINE_QUANTITY}` })
    }
  })
  return getCart(deps, userId)
}

export async function setCartQuantity (deps: Deps, userId: string, itemId: string, quantity: number): Promise<CartView> {
  await deps.db.transaction().execute(async (trx) => {
    const item = await trx.selectFrom('cartItems').select('variantId').where('id', '=', itemId).where('userId', '=', userId).forUpdate().executeTakeFirst()
    if (!item) throw NotFound('NOT_FOUND', 'cart item not found')
    // The line exists (GET /cart lists it), so its product going off sale is a conflict, not a 404.
    const variant = await sellableVariant(trx, item.variantId)
    if (!variant) throw Conflict('PRODUCT_UNAVAILABLE', 'This product is no longer sold; remove the line from the cart.', { extra: { variantIds: [item.variantId] } })
    const { stock } = variant
    if (quantity > stock) throw outOfStock(item.variantId, stock)
    await trx.updateTable('cartItems').set({ quantity, updatedAt: deps.clock.now() }).where('id', '=', itemId).execute()
  })
  return getCart(deps, userId)
}

export async function removeCartItem (deps: Deps, userId: string, itemId: string): Promise<void> {
  const result = await deps.db.deleteFrom('cartItems').where('id', '=', itemId).where('userId', '=', userId).executeTakeFirst()
  if (Number(result.numDeletedRows) === 0) throw NotFound('NOT_FOUND', 'cart item not found')
}

/** Locks the user's cart rows: two checkouts of one cart cannot both take it. */
export async function lockCart (trx: Trx, userId: string): Promise<void> {
  await trx.selectFrom('cartItems').select('id').where('userId', '=', userId).forUpdate().execute()
}

export async function clearCart (db: Queryable, userId: string): Promise<void> {
  await db.deleteFrom('cartItems').where('userId', '=', userId).execute()
}
