import { Conflict, isUniqueViolation, NotFound } from '../../platform/errors.ts'
import { MAX_CHARGE } from '../../platform/money.ts'
import type { Principal } from '../../platform/principal.ts'
import { cartLines, clearCart, lockCart } from '../cart/public.ts'
import { takeStock } from '../products/public.ts'
import { findAddress } from '../users/public.ts'
import { orderPlacedEmail } from './emails.ts'
import { recordHistory } from './lifecycle.ts'
import { emailAboutOrder } from './notifications.ts'
import type { OrderDeps } from './order-deps.ts'
import { createCheckoutIntent } from './payment-intent.ts'
import { ordersOfCheckout } from './queries.ts'
import type { CheckoutBody, CheckoutResponse, ShippingAddress } from './schemas.ts'

// Checkout (SPEC 8.4). One transaction takes the stock for every line (rows locked in id
// order, so concurrent multi-item checkouts cannot deadlock; a guarded decrement, so stock
// never goes below zero), creates one order per workspace under one checkout with the prices
// of that moment, empties the cart and writes the emails to the outbox. Then one
// PaymentIntent covers the total, created with an idempotency key derived from the checkout.

async function shippingAddressOf (deps: OrderDeps, userId: string, input: CheckoutBody): Promise<ShippingAddress> {
  if ('shippingAddress' in input) return input.shippingAddress
  const address = await findAddress(deps.db, userId, input.shippingAddressId)
  if (!address) throw NotFound('NOT_FOUND', 'address not found', { field: '/body/shippingAddressId', fieldDetail: 'is not one of your addresses' })
  return { street: address.street, city: address.city, state: address.state, zipCode: address.zipCode, country: address.country }
}

/** `fresh`: the checkout was made by this request (else a retry under its key finishes it). */
async function finishPayment (deps: OrderDeps, checkoutId: string, fresh = false): Promise<CheckoutResponse> {
  const checkout = await deps.db.selectFrom('checkouts').selectAll().where('id', '=', checkoutId).executeTakeFirstOrThrow()
  const intent = checkout.paymentIntentId
    ? { id: checkout.paymentIntentId, clientSecret: checkout.clientSecret ?? '', status: 'requires_payment_method' }
    : await createCheckoutIntent(deps, checkout, fresh) ?? { id: '', clientSecret: '', status: 'canceled' }
  const orders = await ordersOfCheckout(deps, checkoutId)
  const paid = orders.every((o) => o.paymentStatus === 'paid')
  return {
    checkoutId,
    orders,
    total: { amount: checkout.totalAmount, currency: checkout.currency },
    payment: { provider: checkout.provider as 'stripe' | 'simulator', paymentIntentId: intent.id, clientSecret: intent.clientSecret, status: paid ? 'succeeded' : intent.status }
  }
}

async function checkoutUnderKey (deps: OrderDeps, userId: string, idempotencyKey: string) {
  return deps.db.selectFrom('checkouts').select('id').where('userId', '=', userId).where('idempotencyKey', '=', idempotencyKey).executeTakeFirst()
}

export async function checkout (deps: OrderDeps, principal: Principal, idempotencyKey: string, input: CheckoutBody): Promise<CheckoutResponse> {
  // A checkout made under this key already (its payment step failed, say): finish that one.
  const previous = await checkoutUnderKey(deps, principal.userId, idempotencyKey)
  if (previous) return finishPayment(deps, previous.id)

  const shippingAddress = await shippingAddressOf(deps, principal.userId, input)
  const now = deps.clock.now()
  let checkoutId: string
  try {
    checkoutId = await deps.db.transaction().execute(async (trx) => {
      // The cart's rows are locked first: two checkouts of one cart cannot both take it.
      await lockCart(trx, principal.userId)
      const lines = await cartLines(trx, principal.userId)
      if (lines.length === 0) throw Conflict('CART_EMPTY', 'The cart is empty.')
      const unavailable = lines.filter((l) => !l.sold)
      if (unavailable.length > 0) throw Conflict('PRODUCT_UNAVAILABLE', 'Some products are no longer sold; remove them from the cart.', { extra: { variantIds: unavailable.map((l) => l.variantId) } })
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
        await emailAboutOrder(trx, deps, orderId, orderPlacedEmail)
      }
      await clearCart(trx, principal.userId)
      return id
    })
  } catch (err) {
    // The same key raced in from another process: that checkout stands.
    if (isUniqueViolation(err, 'checkouts_user_key')) {
      const raced = await checkoutUnderKey(deps, principal.userId, idempotencyKey)
      if (raced) return finishPayment(deps, raced.id)
    }
    throw err
  }
  return finishPayment(deps, checkoutId, true)
}
