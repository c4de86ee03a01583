import { sql, type Expression } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { Queryable, Trx } from '../../platform/db.ts'
import { compiledOnce } from '../../platform/compiled-once.ts'
import { Conflict, NotFound } from '../../platform/errors.ts'
import { discounted, money, type Money } from '../../platform/money.ts'
import { pricingContextColumns, type DestinationFacts, type PricingContextRow } from '../pricing/public.ts'
import { outOfStock, sellableStock, sellableVariant, variantFacts } from '../products/public.ts'
import { MAX_LINE_QUANTITY, type CartLine, type CartQuery, type CartView } from './schemas.ts'
import { cartSummaries, destinationAsked } from './summary.ts'

// The cart (SPEC 8.3): lines point at variants; prices are read live, never stored, so the
// cart always shows what checkout will charge.

const LINE_COLUMNS = [
  'c.id', 'c.variantId', 'c.quantity', 'v.productId', 'v.workspaceId', 'v.title', 'v.size', 'v.sku', 'v.stock',
  'v.listAmount', 'v.discountPercentage', 'v.currency', 'v.sold'
] as const

interface LineRow {
  id: string
  variantId: string
  quantity: number
  productId: string
  workspaceId: string
  title: string
  size: string | null
  sku: string
  stock: number
  listAmount: number
  discountPercentage: number
  currency: string
  sold: unknown
}

function toCartLine (r: LineRow): CartLine {
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
}

/** A cart read with what its summaries need: the lines, and pricing's context (null: no line, so no row). */
export interface CartRead { lines: CartLine[], pricing: PricingContextRow | null }

const toCartRead = (rows: Array<LineRow & PricingContextRow>): CartRead => ({ lines: rows.map(toCartLine), pricing: rows[0] ?? null })

/**
 * The workspaces selling the lines still on sale (an SQL `uuid[]`), from the statement's `lines`
 * CTE (the lines with their facts), so pricing's context is read in the statement that reads the
 * lines. Uncorrelated, it runs once; the CTE, used twice, is read once.
 */
function lineWorkspaces (db: Queryable): Expression<readonly string[]> {
  return sql<readonly string[]>`(${db.selectFrom(sql.table('lines').as('w'))
    .select(sql<readonly string[]>`coalesce(array_agg(distinct ${sql.ref('w.workspaceId')}), '{}'::uuid[])`.as('ids'))
    .where(sql.ref('w.sold'), 'is', true)})`
}

/** Whether a line is the cart's first (in the order it is shown): the row that carries pricing's context. */
const firstLine = sql<boolean>`row_number() over (order by ${sql.ref('c.createdAt')}, ${sql.ref('c.id')}) = 1`.as('first')

/** Cart lines with what checkout needs (live prices, stock, whether still sold), and pricing's context, in one statement. */
export async function cartLines (db: Queryable, userId: string, destination: DestinationFacts): Promise<CartRead> {
  // The lines with their facts (and when each was added, for the order), read once.
  const rows = await db.with('lines', (qc) => qc.selectFrom('cartItems as c')
    .innerJoin(variantFacts(db).as('v'), 'v.id', 'c.variantId')
    .select([...LINE_COLUMNS, 'c.createdAt', firstLine])
    .where('c.userId', '=', userId))
    .selectFrom('lines')
    .selectAll('lines')
    .select(pricingContextColumns(db, { userId, workspaceIds: lineWorkspaces(db), destination, commissions: false, onRow: sql.ref<boolean>('lines.first') }))
    .orderBy('lines.createdAt').orderBy('lines.id')
    .execute()
  return toCartRead(rows)
}

/** Which lines a checkout takes: the whole cart (none), the lines of these ids, or the lines of one currency. */
export type CartSelection = { lineIds: readonly string[] } | { currency: string } | undefined

/**
 * Checkout's take of the cart: deletes the user's lines (all, or the `selection`) and returns
 * them with their facts, in one statement. The delete is the cart's lock: a second checkout of
 * these lines waits on their rows and then finds them gone; a line not selected, or added
 * meanwhile, is not taken, and stays. Undone with the caller's transaction when the checkout is
 * refused.
 */
export async function takeCart (trx: Trx, userId: string, selection?: CartSelection): Promise<CartLine[]> {
  let chosen = trx.selectFrom('cartItems').select('id').where('userId', '=', userId)
  // One array parameter, so the statement's text is the same however many lines are chosen.
  if (selection && 'lineIds' in selection) chosen = chosen.where('id', '=', sql<string>`any(${[...selection.lineIds]}::uuid[])`)
  // The variant's currency is its product's: the lines of the products priced in it.
  if (selection && 'currency' in selection) chosen = chosen.where('variantId', 'in', trx.selectFrom(variantFacts(trx).as('f')).select('f.id').where('f.currency', '=', selection.currency))
  const rows = await trx
    // Locked in id order first, whatever the selection: two checkouts of overlapping parts of
    // one cart queue on their first shared line instead of deadlocking.
    .with('taken', (db) => db.deleteFrom('cartItems').where('id', 'in', chosen.orderBy('id').forUpdate()).returning(['id', 'variantId', 'quantity', 'createdAt']))
    .selectFrom('taken as c')
    .innerJoin(variantFacts(trx).as('v'), 'v.id', 'c.variantId')
    .select(LINE_COLUMNS)
    .orderBy('c.createdAt').orderBy('c.id')
    .execute()
  return rows.map(toCartLine)
}

export function totalsByCurrency (lines: Array<{ lineTotal: Money }>): Money[] {
  const totals = new Map<string, number>()
  for (const line of lines) totals.set(line.lineTotal.currency, (totals.get(line.lineTotal.currency) ?? 0) + line.lineTotal.amount)
  return [...totals].map(([currency, amount]) => money(amount, currency))
}

/** `query`: where shipping and tax are priced for (by default the default address). */
async function cartView (deps: Deps, userId: string, { lines: items, pricing }: CartRead, query?: CartQuery): Promise<CartView> {
  // A line no longer on sale has no price to pay: shown (marked unavailable), not totalled.
  const totals = totalsByCurrency(items.filter((i) => i.sold))
  const summaries = await cartSummaries(deps, userId, items, destinationAsked(query), pricing)
  return { items, totals, summaries, itemCount: items.reduce((n, i) => n + i.quantity, 0) }
}

export async function getCart (deps: Deps, userId: string, query?: CartQuery): Promise<CartView> {
  // A query asking wrongly is refused before anything is read.
  const destination = destinationAsked(query)
  return cartView(deps, userId, await cartLines(deps.db, userId, destination), query)
}

/**
 * The add as one statement that writes only when it is allowed (on sale; the line, new or
 * summed, within the stock and the line limit) and answers with the cart. Returns null when it
 * wrote nothing, without saying why.
 */
const addIfAllowed = compiledOnce<{ id: string, userId: string, variantId: string, quantity: number, now: Date }, LineRow & PricingContextRow>((db, value) => db
  .with('sellable', () => sellableStock(db, value('variantId')))
  .with('added', (db) => db.insertInto('cartItems')
    .columns(['id', 'userId', 'variantId', 'quantity'])
    .expression((eb) => eb.selectFrom('sellable')
      .select([sql<string>`${value('id')}::uuid`.as('id'), sql<string>`${value('userId')}::uuid`.as('userId'), sql<string>`${value('variantId')}::uuid`.as('variantId'), sql<number>`${value('quantity')}::int`.as('quantity')])
      .where('sellable.stock', '>=', value('quantity')))
    .onConflict((oc) => oc.columns(['userId', 'variantId'])
      .doUpdateSet((eb) => ({ quantity: eb('cartItems.quantity', '+', eb.ref('excluded.quantity')), updatedAt: value('now') }))
      .where((eb) => eb(eb('cartItems.quantity', '+', eb.ref('excluded.quantity')), '<=', eb.fn<number>('least', [eb.selectFrom('sellable').select('stock'), eb.lit(MAX_LINE_QUANTITY)]))))
    .returning(['id', 'variantId', 'quantity', 'createdAt']))
  // The cart as it is after the add: the other lines, and the added one as written.
  .with('cart', (db) => db.selectFrom('cartItems').select(['id', 'variantId', 'quantity', 'createdAt'])
    .where('userId', '=', value('userId')).where('variantId', '!=', value('variantId'))
    .unionAll(db.selectFrom('added').select(['id', 'variantId', 'quantity', 'createdAt'])))
  .with('lines', (qc) => qc.selectFrom('cart as c')
    .innerJoin(variantFacts(db).as('v'), 'v.id', 'c.variantId')
    .select([...LINE_COLUMNS, 'c.createdAt', firstLine]))
  .selectFrom('lines')
  .selectAll('lines')
  // With pricing's context for the summaries (the default address; the workspaces of that cart).
  .select(pricingContextColumns(db, { userId: value('userId'), workspaceIds: lineWorkspaces(db), destination: {}, commissions: false, onRow: sql.ref<boolean>('lines.first') }))
  .orderBy('lines.createdAt').orderBy('lines.id'))

/**
 * The add as one statement that writes only when it is allowed (on sale; the line, new or
 * summed, within the stock and the line limit) and answers with the cart. Returns null when it
 * wrote nothing, without saying why. Compiled once: it runs on every add.
 */
async function addWhenAllowed (deps: Deps, userId: string, variantId: string, quantity: number): Promise<CartRead | null> {
  const rows = await addIfAllowed(deps.db, { id: deps.random.uuid(), userId, variantId, quantity, now: deps.clock.now() })
  const read = toCartRead(rows)
  return read.lines.some((line) => line.variantId === variantId) ? read : null
}

const quantityLimit = () =>
  Conflict('QUANTITY_LIMIT', `A cart line holds at most ${MAX_LINE_QUANTITY}.`, { field: '/body/quantity', fieldDetail: `would make the line more than ${MAX_LINE_QUANTITY}` })

/** The add under the line's lock, telling why it cannot be done (or doing it, if now it can). */
async function addOrExplain (deps: Deps, userId: string, variantId: string, quantity: number): Promise<void> {
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
    if (line.quantity > MAX_LINE_QUANTITY) throw quantityLimit()
  })
}

/**
 * Why an add was refused, from one read of the variant and the line (one snapshot): the same
 * reasons, in the same order, as addOrExplain. Null when that snapshot would allow the add (the
 * cart or the stock changed since the attempt): only then does the careful path run.
 */
async function refusalOf (deps: Deps, userId: string, variantId: string, quantity: number): Promise<Error | null> {
  const facts = await deps.db.selectNoFrom((eb) => [
    eb.selectFrom(sellableStock(deps.db, variantId).as('s')).select('s.stock').as('stock'),
    eb.selectFrom('cartItems').select('quantity').where('userId', '=', userId).where('variantId', '=', variantId).as('inCart')
  ]).executeTakeFirstOrThrow()
  if (facts.stock === null) return NotFound('NOT_FOUND', 'variant not found', { field: '/body/variantId', fieldDetail: 'is not a variant on sale' })
  const line = (facts.inCart ?? 0) + quantity
  if (line > facts.stock) return outOfStock(variantId, facts.stock)
  if (line > MAX_LINE_QUANTITY) return quantityLimit()
  return null
}

/** Adds to the line of that variant (or starts one); never beyond the stock. */
export async function addToCart (deps: Deps, userId: string, variantId: string, quantity: number): Promise<CartView> {
  const added = await addWhenAllowed(deps, userId, variantId, quantity)
  if (added) return cartView(deps, userId, added)
  // Refused (a cart at its stock is the common case under load): one read tells why. Only when
  // it cannot, because the cart or the stock changed in between, the careful path finds the
  // reason under the line's lock, or adds after all.
  const refusal = await refusalOf(deps, userId, variantId, quantity)
  if (refusal) throw refusal
  await addOrExplain(deps, userId, variantId, quantity)
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

export async function clearCart (db: Queryable, userId: string): Promise<void> {
  await db.deleteFrom('cartItems').where('userId', '=', userId).execute()
}
