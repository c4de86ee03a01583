import { BadRequest, Conflict, isUniqueViolation, NotFound } from '../../platform/errors.ts'
import { MAX_CHARGE } from '../../platform/money.ts'
import type { Principal } from '../../platform/principal.ts'
import { pricingLinesOf, takeCart, type CartLine, type CartSelection } from '../cart/public.ts'
import { computeTotals, destinationOf, type Destination, type PricingContext, type PricingLine } from '../pricing/public.ts'
import { takeStock } from '../products/public.ts'
import { consumePromotion } from '../promotions/public.ts'
import { checkoutFacts, pricingRefusal } from './checkout-facts.ts'
import { checkoutsPlaced } from './counters.ts'
import { placeOrders } from './order-placement.ts'
import type { OrderDeps } from './order-deps.ts'
import { createCheckoutIntent } from './payment-intent.ts'
import { ordersOfCheckout, totalsOf } from './queries.ts'
import type { CheckoutBody, CheckoutResponse } from './schemas.ts'

// Checkout (SPEC 8.4). One transaction takes the cart, takes the stock for every line (rows
// locked in id order, so concurrent multi-item checkouts cannot deadlock; a guarded decrement,
// so stock never goes below zero), and writes one order per workspace under one checkout with
// the prices of that moment, priced once by computeTotals (discount, shipping, tax, commission)
// and frozen on them, and their emails to the outbox. Then one PaymentIntent covers the total,
// created with an idempotency key derived from the checkout. The statements are few and each
// does much: see checkout-facts.ts, order-placement.ts, takeCart and takeStock.

/** A checkout made before: its payment is finished (a retry under its key, or the racing request's). */
async function finishPayment (deps: OrderDeps, checkoutId: string): Promise<CheckoutResponse> {
  const checkout = await deps.db.selectFrom('checkouts').selectAll().where('id', '=', checkoutId).executeTakeFirstOrThrow()
  const intent = checkout.paymentIntentId
    ? { id: checkout.paymentIntentId, clientSecret: checkout.clientSecret ?? '', status: 'requires_payment_method' }
    : await createCheckoutIntent(deps, checkout, false) ?? { id: '', clientSecret: '', status: 'canceled' }
  const orders = await ordersOfCheckout(deps, checkoutId)
  const paid = orders.every((o) => o.paymentStatus === 'paid')
  return {
    checkoutId,
    orders,
    total: { amount: checkout.totalAmount, currency: checkout.currency },
    totals: totalsOf(checkout, checkout.currency),
    payment: { provider: checkout.provider as 'stripe' | 'simulator', paymentIntentId: intent.id, clientSecret: intent.clientSecret, status: paid ? 'succeeded' : intent.status }
  }
}

async function checkoutUnderKey (deps: OrderDeps, userId: string, idempotencyKey: string) {
  return deps.db.selectFrom('checkouts').select('id').where('userId', '=', userId).where('idempotencyKey', '=', idempotencyKey).executeTakeFirst()
}

/** Thrown to undo the transaction when the key already has its checkout. */
class MadeBefore extends Error {
  constructor (readonly checkoutId: string) { super(`checkout ${checkoutId} was made under this key`) }
}

/** The part of the cart the body asks for (none: all of it); both ways at once is refused. */
function selectionOf (input: CheckoutBody): CartSelection {
  if (input.lines && input.currency !== undefined) throw BadRequest('VALIDATION_FAILED', 'body/currency cannot be given with body/lines', { field: '/body/currency', fieldDetail: 'give lines or currency, not both' })
  // Ids compare as the database writes them (lower case); the same line twice is once.
  if (input.lines) return { lineIds: [...new Set(input.lines.map((id) => id.toLowerCase()))] }
  if (input.currency !== undefined) return { currency: input.currency }
  return undefined
}

/** The selected lines that were not taken: not in this cart (another user's, bought, removed, or never there). */
function missingLines (selection: CartSelection, lines: CartLine[]): string[] {
  if (!selection || !('lineIds' in selection)) return []
  const taken = new Set(lines.map((l) => l.id))
  return selection.lineIds.filter((id) => !taken.has(id))
}

/**
 * Prices the lines taken. Part of a cart (a selection) that the cart's code does not concern (a
 * store's code and none of that store's lines, or a code of another currency) is priced without
 * it, and the code stays in the cart for the rest. A code that does concern the part but does
 * not apply (its minimum subtotal) is still refused, so nobody pays the full price unawares.
 */
function priceSelection (lines: PricingLine[], pricing: PricingContext, destination: Destination | null, chosen: string[] | undefined, selection: CartSelection) {
  const priced = computeTotals(lines, pricing, destination, chosen)
  const issue = priced.issues[0]
  const unconcerned = issue?.code === 'PROMOTION_NOT_APPLICABLE' && (issue.reason === 'no_eligible_lines' || issue.reason === 'currency')
  return selection && unconcerned ? computeTotals(lines, { ...pricing, promotion: null }, destination, chosen) : priced
}

export async function checkout (deps: OrderDeps, principal: Principal, idempotencyKey: string, input: CheckoutBody): Promise<CheckoutResponse> {
  const { userId } = principal
  const now = deps.clock.now()
  const selection = selectionOf(input)
  let placed
  try {
    placed = await deps.db.transaction().execute(async (trx) => {
      const lines = await takeCart(trx, userId, selection)
      const workspaceIds = [...new Set(lines.map((l) => l.workspaceId))]
      const facts = await checkoutFacts(trx, deps.config, userId, idempotencyKey, workspaceIds, input)
      // A checkout made under this key already (its payment step failed, say): that one is
      // finished instead, and this transaction, with its take of the cart, is undone.
      if (facts.previous) throw new MadeBefore(facts.previous)
      const shippingAddress = facts.shippingAddress
      if (!shippingAddress) throw NotFound('NOT_FOUND', 'address not found', { field: '/body/shippingAddressId', fieldDetail: 'is not one of your addresses' })
      const missing = missingLines(selection, lines)
      if (missing.length > 0) throw Conflict('CART_LINES_NOT_FOUND', 'Some selected lines are not in your cart (bought, removed, or never there); nothing was checked out.', { field: '/body/lines', fieldDetail: 'names lines not in your cart', extra: { lineIds: missing } })
      if (lines.length === 0) throw Conflict('CART_EMPTY', selection ? 'The cart has no lines in that currency.' : 'The cart is empty.')
      const unavailable = lines.filter((l) => !l.sold)
      if (unavailable.length > 0) throw Conflict('PRODUCT_UNAVAILABLE', 'Some products are no longer sold; remove them from the cart.', { extra: { variantIds: unavailable.map((l) => l.variantId) } })
      const currencies = new Set(lines.map((l) => l.unitPrice.currency))
      if (currencies.size > 1) {
        throw Conflict('MIXED_CURRENCIES', 'One checkout pays in one currency: pass currency (or lines) to check out one currency; the rest stays in the cart.', { extra: { currencies: [...currencies].sort() } })
      }
      // Goods above what one payment can charge are refused before pricing: no total of them
      // could be charged, and no order of them fits the int4 amount columns.
      if (lines.reduce((n, l) => n + l.lineTotal.amount, 0) > MAX_CHARGE) throw pricingRefusal({ code: 'AMOUNT_TOO_LARGE' })
      const chosenRates = input.shippingRateIds?.map((id) => id.toLowerCase())
      const priced = priceSelection(pricingLinesOf(lines), facts.pricing, destinationOf(shippingAddress), chosenRates, selection)
      if (priced.issues.length > 0) throw pricingRefusal(priced.issues[0]!, chosenRates)
      // A payment of nothing cannot be made (the provider refuses it), and an order nobody pays for would only expire.
      if (priced.total === 0) throw Conflict('NOTHING_TO_PAY', 'The cart costs nothing to check out; there is no payment to make.')
      await takeStock(trx, lines)

      const checkoutId = deps.random.uuid()
      const currency = lines[0]!.unitPrice.currency
      const orders = await placeOrders(trx, deps, {
        checkoutId, userId, idempotencyKey, provider: deps.gateway.provider, currency, lines, priced, shippingAddress, note: input.note ?? null, customer: facts.customer, storeNames: facts.storeNames, now
      })
      // A use of the code is taken in this transaction, after placeOrders: its redemption row
      // names the checkout row, which must exist. Locks stay variants first, then the promotion
      // row, always in that order. A code at its limit refuses, and the whole checkout rolls back.
      if (priced.promotion) await consumePromotion(trx, deps, { promotionId: priced.promotion.id, userId, checkoutId, currency, discount: priced.promotion.discount })
      return { id: checkoutId, userId, totalAmount: priced.total, currency, orders, priced }
    })
  } catch (err) {
    if (err instanceof MadeBefore) return finishPayment(deps, err.checkoutId)
    // The same key raced in from another process: that checkout stands.
    if (isUniqueViolation(err, 'checkouts_user_key')) {
      const raced = await checkoutUnderKey(deps, userId, idempotencyKey)
      if (raced) return finishPayment(deps, raced.id)
    }
    throw err
  }
  deps.metrics.count(checkoutsPlaced)
  // Made by this request, so it owes its total; the orders are as written (nothing is paid yet).
  const intent = await createCheckoutIntent(deps, placed, true) ?? { id: '', clientSecret: '', status: 'canceled' }
  return {
    checkoutId: placed.id,
    orders: placed.orders,
    total: { amount: placed.totalAmount, currency: placed.currency },
    totals: totalsOf({
      subtotalAmount: placed.priced.subtotal, discountAmount: placed.priced.discount, shippingAmount: placed.priced.shipping, taxAmount: placed.priced.tax, taxInclusive: placed.priced.taxInclusive, totalAmount: placed.priced.total
    }, placed.currency),
    payment: { provider: deps.gateway.provider, paymentIntentId: intent.id, clientSecret: intent.clientSecret, status: intent.status }
  }
}
