import { sql } from 'kysely'
import type { Trx } from '../../platform/db.ts'
import { AppError, Conflict } from '../../platform/errors.ts'
import { MAX_CHARGE, type Money } from '../../platform/money.ts'
import type { Principal } from '../../platform/principal.ts'
import { cartLines, clearCart, outOfStock } from '../cart/service.ts'
import { findAddress } from '../users/service.ts'
import { emailAboutOrder, getOrder, recordHistory, type OrderDeps, type OrderView, type ShippingAddress } from './service.ts'
import { owedAmount, syncIntentAmountQuietly } from './settlement.ts'

// Checkout (SPEC 8.4). One transaction takes the stock for every line (rows locked in id
// order, so concurrent multi-item checkouts cannot deadlock; a guarded decrement, so stock
// never goes below zero), creates one order per workspace under one checkout with the prices
// of that moment, empties the cart and writes the emails to the outbox. Then one
// PaymentIntent covers the total, created with an idempotency key derived from the checkout.

export interface CheckoutInput { shippingAddressId?: string, shippingAddress?: ShippingAddress, note?: string }
export interface CheckoutResult {
  checkoutId: string
  orders: OrderView[]
  total: Money
  payment: { provider: 'stripe' | 'simulator', paymentIntentId: string, clientSecret: string, status: string }
}

async function shippingAddressOf (deps: OrderDeps, userId: string, input: CheckoutInput): Promise<ShippingAddress> {
  if (input.shippingAddress) return input.shippingAddress
  const address = await findAddress(deps.db, userId, input.shippingAddressId!)
  if (!address) throw new AppError(404, 'NOT_FOUND', 'address not found', { errors: [{ pointer: '/body/shippingAddressId', detail: 'is not one of your addresses' }] })
  return { street: address.street, city: address.city, state: address.state, zipCode: address.zipCode, country: address.country }
}

async function takeStock (trx: Trx, lines: Array<{ variantId: string, quantity: number }>): Promise<void> {
  const wanted = new Map<string, number>()
  for (const line of lines) wanted.set(line.variantId, (wanted.get(line.variantId) ?? 0) + line.quantity)
  const ids = [...wanted.keys()].sort()
  // Locks taken in one global order (variant id): two checkouts sharing variants queue up
  // instead of deadlocking.
  const rows = await trx.selectFrom('productVariants').select(['id', 'stock']).where('id', 'in', ids).orderBy('id').forUpdate().execute()
  for (const row of rows) {
    if (row.stock < wanted.get(row.id)!) throw outOfStock(row.id, row.stock)
  }
  const values = sql.join(ids.map((id) => sql`(${id}::uuid, ${wanted.get(id)!}::int)`))
  // Guarded anyway: the decrement applies only where the stock covers it.
  const updated = await sql<{ id: string }>`
    update product_variants v set stock = v.stock - x.quantity, updated_at = now()
    from (values ${values}) as x(id, quantity)
    where v.id = x.id and v.stock >= x.quantity
    returning v.id`.execute(trx)
  if (updated.rows.length !== ids.length) throw Conflict('OUT_OF_STOCK', 'Some items sold out during checkout.')
}

/**
 * Creates the checkout's intent for what it still owes (a retry after a failed creation may
 * come after some of its orders were cancelled), or none when nothing is owed. The first
 * intent stored wins; a cancel that committed while ours was being made is applied to it.
 */
async function createIntentFor (deps: OrderDeps, checkout: { id: string, totalAmount: number, currency: string, userId: string }, fresh: boolean) {
  // A checkout made by this request owes its total (a cancel racing in is caught by the check
  // after the intent is stored, as for a retry).
  const owed = fresh ? checkout.totalAmount : await owedAmount(deps.db, checkout.id)
  if (owed === 0) return null
  // The full total keeps the key a first attempt used; a lower amount is a different request.
  const idempotencyKey = owed === checkout.totalAmount ? `checkout-${checkout.id}` : `checkout-${checkout.id}-${owed}`
  const created = await deps.gateway.createIntent({ checkoutId: checkout.id, amount: owed, currency: checkout.currency, userId: checkout.userId, idempotencyKey })
  const stored = await deps.db.updateTable('checkouts').set({ paymentIntentId: created.id, clientSecret: created.clientSecret })
    .where('id', '=', checkout.id).where('paymentIntentId', 'is', null).returning('id').executeTakeFirst()
  if (!stored) {
    // A concurrent retry stored its intent first: that one stands, ours is never handed out.
    const winner = await deps.db.selectFrom('checkouts').select(['paymentIntentId', 'clientSecret']).where('id', '=', checkout.id).executeTakeFirstOrThrow()
    if (winner.paymentIntentId !== created.id) await deps.gateway.cancelIntent(created.id).catch((err) => deps.log.warn({ checkoutId: checkout.id, err }, 'an unused payment intent could not be cancelled'))
    return { id: winner.paymentIntentId!, clientSecret: winner.clientSecret ?? '', status: 'requires_payment_method' }
  }
  if (await owedAmount(deps.db, checkout.id) !== owed) await syncIntentAmountQuietly(deps, checkout.id)
  return created
}

/** `fresh`: the checkout was made by this request (else a retry under its key finishes it). */
async function finishPayment (deps: OrderDeps, checkoutId: string, fresh = false): Promise<CheckoutResult> {
  const checkout = await deps.db.selectFrom('checkouts').selectAll().where('id', '=', checkoutId).executeTakeFirstOrThrow()
  const intent = checkout.paymentIntentId
    ? { id: checkout.paymentIntentId, clientSecret: checkout.clientSecret ?? '', status: 'requires_payment_method' }
    : await createIntentFor(deps, checkout, fresh) ?? { id: '', clientSecret: '', status: 'canceled' }
  const orderIds = await deps.db.selectFrom('orders').select('id').where('checkoutId', '=', checkoutId).orderBy('id').execute()
  const orders = await Promise.all(orderIds.map((o) => getOrder(deps, { id: o.id })))
  const paid = orders.every((o) => o.paymentStatus === 'paid')
  return {
    checkoutId,
    orders,
    total: { amount: checkout.totalAmount, currency: checkout.currency },
    payment: { provider: checkout.provider as 'stripe' | 'simulator', paymentIntentId: intent.id, clientSecret: intent.clientSecret, status: paid ? 'succeeded' : intent.status }
  }
}

export async function checkout (deps: OrderDeps, principal: Principal, idempotencyKey: string, input: CheckoutInput): Promise<CheckoutResult> {
  // A checkout made under this key already (its payment step failed, say): finish that one.
  const previous = await deps.db.selectFrom('checkouts').select('id').where('userId', '=', principal.userId).where('idempotencyKey', '=', idempotencyKey).executeTakeFirst()
  if (previous) return finishPayment(deps, previous.id)

  const shippingAddress = await shippingAddressOf(deps, principal.userId, input)
  const now = deps.clock.now()
  let checkoutId: string
  try {
    checkoutId = await deps.db.transaction().execute(async (trx) => {
      // The cart's rows are locked first: two checkouts of one cart cannot both take it.
      await trx.selectFrom('cartItems').select('id').where('userId', '=', principal.userId).forUpdate().execute()
      const lines = await cartLines(trx, principal.userId)
      if (lines.length === 0) throw Conflict('CART_EMPTY', 'The cart is empty.')
      const unavailable = lines.filter((l) => !l.sold)
      if (unavailable.length > 0) throw new AppError(409, 'PRODUCT_UNAVAILABLE', 'Some products are no longer sold; remove them from the cart.', { extra: { variantIds: unavailable.map((l) => l.variantId) } })
      const currencies = new Set(lines.map((l) => l.unitPrice.currency))
      if (currencies.size > 1) throw Conflict('MIXED_CURRENCIES', 'One checkout pays in one currency: check out each currency separately.')
      const total = lines.reduce((sum, l) => sum + l.lineTotal.amount, 0)
      if (total > MAX_CHARGE) throw Conflict('AMOUNT_TOO_LARGE', `One checkout can charge at most ${MAX_CHARGE} minor units (the payment provider's limit): split the cart.`)
      await takeStock(trx, lines)

      const id = deps.random.uuid()
      const currency = lines[0]!.unitPrice.currency
      await trx.insertInto('checkouts').values({ id, userId: principal.userId, idempotencyKey, currency, totalAmount: total, provider: deps.gateway.provider, createdAt: now }).execute()

      const byWorkspace = new Map<string, typeof lines>()
      for (const line of lines) byWorkspace.set(line.workspaceId, [...(byWorkspace.get(line.workspaceId) ?? []), line])
      for (const [workspaceId, items] of [...byWorkspace].sort(([a], [b]) => a.localeCompare(b))) {
        const orderId = deps.random.uuid()
        await trx.insertInto('orders').values({
          id: orderId,
          checkoutId: id,
          workspaceId,
          userId: principal.userId,
          status: 'pending',
          paymentStatus: 'unpaid',
          currency,
          totalAmount: items.reduce((sum, l) => sum + l.lineTotal.amount, 0),
          shippingAddress: JSON.stringify(shippingAddress),
          note: input.note ?? null,
          createdAt: now,
          updatedAt: now
        }).execute()
        await trx.insertInto('orderItems').values(items.map((l) => ({
          id: deps.random.uuid(),
          orderId,
          productId: l.productId,
          variantId: l.variantId,
          title: l.title,
          size: l.size,
          sku: l.sku,
          unitAmount: l.unitPrice.amount,
          quantity: l.quantity,
          lineAmount: l.lineTotal.amount
        }))).execute()
        await recordHistory(trx, deps, orderId, null, 'pending', 'customer', principal.userId, 'checkout')
        await emailAboutOrder(trx, deps, orderId, 'order-placed')
      }
      await clearCart(trx, principal.userId)
      return id
    })
  } catch (err) {
    // The same key raced in from another process: that checkout stands.
    if ((err as { constraint?: string }).constraint === 'checkouts_user_key') {
      const raced = await deps.db.selectFrom('checkouts').select('id').where('userId', '=', principal.userId).where('idempotencyKey', '=', idempotencyKey).executeTakeFirst()
      if (raced) return finishPayment(deps, raced.id)
    }
    throw err
  }
  return finishPayment(deps, checkoutId, true)
}
