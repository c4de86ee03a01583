import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { Trx } from '../../platform/db.ts'
import type { IntentState, PaymentGateway, ProviderRefund } from '../../platform/payment-provider.ts'
import { lockCheckout, lockOrdersOf } from './checkout-records.ts'
import { payments } from './counters.ts'
import { paymentConfirmedEmail } from './emails.ts'
import { recordHistory, transitionOrder } from './lifecycle.ts'
import { emailAboutOrder } from './notifications.ts'
import type { OrderDeps } from './order-deps.ts'
import { applyProviderRefunds } from './refund-settlement.ts'
import { executeRefund, openRefund, refundCancelledRemainders } from './refunds.ts'
import { isUnpaid } from './transitions.ts'
import { recordSales, type SaleFacts } from '../ledger/public.ts'

// How a checkout's one payment meets its several orders. The invariant, per checkout:
// captured − refunded = what its orders not cancelled still owe. Before the payment, a cancel
// lowers the intent to what is owed (or cancels it: payment-intent.ts); a payment is applied
// once, only if its amount and currency are what the checkout can owe, and any part of it that
// covers orders cancelled meanwhile is refunded at once. Every decision locks the checkout
// row, then its orders in id order.

export interface ReceivedPayment {
  intentId: string
  amountReceived: number | undefined
  currency: string | undefined
  eventId: string | null
  source: string
  /** The charge that paid (vendor transfers are made from it), when known. */
  chargeId?: string | null
  /** False when the event's account was checked with the provider, which says the intent is not paid. */
  providerAgrees?: boolean
}
export interface PaymentOutcome { confirmed: number, refundIds: string[], review: boolean }
const NOTHING: PaymentOutcome = { confirmed: 0, refundIds: [], review: false }

/**
 * Which cancelled orders a payment's excess covered. The intent was lowered cancel by cancel,
 * so the excess is the total of the orders whose lowering came too late: an exact subset,
 * most recently cancelled first; failing that (an intent changed elsewhere), filled in order.
 */
export function sharesOfExcess (cancelled: Array<{ id: string, totalAmount: number }>, excess: number): Map<string, number> {
  const shares = new Map<string, number>()
  if (excess <= 0) return shares
  if (cancelled.length <= 12) {
    for (let mask = 1; mask < 1 << cancelled.length; mask++) {
      const picked = cancelled.filter((_, i) => mask & (1 << i))
      if (picked.reduce((sum, o) => sum + o.totalAmount, 0) === excess) {
        for (const o of picked) shares.set(o.id, o.totalAmount)
        return shares
      }
    }
  }
  let left = excess
  for (const o of cancelled) {
    const share = Math.min(o.totalAmount, left)
    if (share > 0) shares.set(o.id, share)
    left -= share
  }
  return shares
}

/** A payment or refund that does not fit the checkout: nothing is applied; a person looks at it. */
async function keepForReview (trx: Trx, deps: Deps, checkout: { id: string, currency: string }, expectedAmount: number, payment: ReceivedPayment, reason: string): Promise<void> {
  const open = await trx.selectFrom('paymentReviews').select('id').where('checkoutId', '=', checkout.id).where('resolvedAt', 'is', null).where('reason', '=', reason)
    .where(sql<boolean>`received_amount is not distinct from ${payment.amountReceived ?? null}::int`)
    .where(sql<boolean>`received_currency is not distinct from ${payment.currency ?? null}::text`).executeTakeFirst()
  deps.log.error({ checkoutId: checkout.id, paymentIntentId: payment.intentId, eventId: payment.eventId, reason, expectedAmount, receivedAmount: payment.amountReceived, receivedCurrency: payment.currency }, 'payment kept for review: it does not match the checkout')
  if (open) return
  await trx.insertInto('paymentReviews').values({
    id: deps.random.uuid(),
    checkoutId: checkout.id,
    paymentIntentId: payment.intentId,
    eventId: payment.eventId,
    reason,
    expectedAmount,
    expectedCurrency: checkout.currency,
    receivedAmount: typeof payment.amountReceived === 'number' && Number.isSafeInteger(payment.amountReceived) ? payment.amountReceived : null,
    receivedCurrency: payment.currency ?? null,
    createdAt: deps.clock.now()
  }).execute()
}

/**
 * A checkout's payment succeeded: checked against what it owes, then applied once (the
 * checkout's `amount_received` is set once). Live orders are confirmed and paid; shares of
 * orders cancelled before the payment arrived are opened as refunds, which the caller executes
 * after commit.
 */
export async function applyPaymentSucceeded (trx: Trx, deps: Deps, checkoutId: string, payment: ReceivedPayment): Promise<PaymentOutcome> {
  const checkout = await lockCheckout(trx, checkoutId)
  if (checkout.amountReceived !== null) return NOTHING
  const orders = await lockOrdersOf(trx, checkoutId)
  const live = orders.filter((o) => o.status !== 'cancelled')
  const owed = live.reduce((sum, o) => sum + o.totalAmount, 0)
  const received = payment.amountReceived
  // Between what is owed now and the original total (a cancel whose lowering came too late).
  const reason = payment.currency?.toLowerCase() !== checkout.currency.toLowerCase()
    ? 'currency_mismatch'
    : typeof received !== 'number' || !Number.isInteger(received) || received <= 0 || received < owed || received > checkout.totalAmount ? 'amount_mismatch' : null
  if (reason || typeof received !== 'number' || payment.providerAgrees === false) {
    await keepForReview(trx, deps, checkout, owed, payment, reason ?? (payment.providerAgrees === false ? 'not_paid_at_provider' : 'amount_mismatch'))
    deps.metrics.count(payments, { outcome: 'review' })
    return { ...NOTHING, review: true }
  }
  await trx.updateTable('checkouts').set({ amountReceived: received }).where('id', '=', checkoutId).execute()
  deps.metrics.count(payments, { outcome: 'confirmed' })
  const now = deps.clock.now()
  let confirmed = 0
  const sales: SaleFacts[] = []
  const sale = (o: typeof orders[number], paid: number, isLive: boolean): SaleFacts => ({
    orderId: o.id, workspaceId: o.workspaceId, currency: o.currency, paidAmount: paid, totalAmount: o.totalAmount, commission: o.commissionAmount, platformFundedDiscount: o.platformFundedDiscount, live: isLive
  })
  for (const order of live) {
    if (!isUnpaid(order.paymentStatus)) continue
    sales.push(sale(order, order.totalAmount, true))
    await trx.updateTable('orders').set({ paymentStatus: 'paid', paidAmount: order.totalAmount, paidAt: now, updatedAt: now }).where('id', '=', order.id).execute()
    if (order.status === 'pending') {
      await transitionOrder(trx, deps, order, 'confirmed', 'payment', null, payment.source)
      await emailAboutOrder(trx, deps, order.id, paymentConfirmedEmail, true)
      confirmed++
    }
  }
  const cancelled = orders.filter((o) => o.status === 'cancelled' && isUnpaid(o.paymentStatus))
    .sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime() || a.id.localeCompare(b.id))
  const refundIds: string[] = []
  for (const [orderId, share] of sharesOfExcess(cancelled, received - owed)) {
    await trx.updateTable('orders').set({ paymentStatus: 'paid', paidAmount: share, paidAt: now, updatedAt: now }).where('id', '=', orderId).execute()
    sales.push(sale(cancelled.find((o) => o.id === orderId)!, share, false))
    await recordHistory(trx, deps, orderId, 'cancelled', 'cancelled', 'payment', null, `payment received after cancellation: ${share} refunded`)
    refundIds.push(await openRefund(trx, deps, orderId, share, null, 'payment received after cancellation'))
    deps.log.warn({ orderId, share }, 'payment covered a cancelled order; its share is refunded')
  }
  // The vendors' sales and transfers, in this transaction: recorded exactly when the payment is applied.
  await recordSales(trx, deps, { checkoutId, chargeId: payment.chargeId ?? null, orders: sales })
  return { confirmed, refundIds, review: false }
}

/** A failed payment marks unpaid orders failed; it never overwrites a payment that succeeded. */
export async function applyPaymentFailed (trx: Trx, deps: Deps, checkoutId: string): Promise<number> {
  // The lock order of every money decision (checkout, then its orders): never a deadlock with a success.
  await lockCheckout(trx, checkoutId)
  await lockOrdersOf(trx, checkoutId)
  const result = await trx.updateTable('orders').set({ paymentStatus: 'failed', updatedAt: deps.clock.now() })
    .where('checkoutId', '=', checkoutId).where('paymentStatus', '=', 'unpaid').executeTakeFirst()
  deps.metrics.count(payments, { outcome: 'failed' })
  return Number(result.numUpdatedRows)
}

export interface ProviderState { intent: IntentState, refunds: ProviderRefund[] }

/** The intent and its refunds as the provider has them now (when events arrive out of order). */
export async function readProviderState (gateway: PaymentGateway, intentId: string): Promise<ProviderState> {
  const intent = await gateway.retrieveIntent(intentId)
  return { intent, refunds: intent.status === 'succeeded' ? await gateway.listRefunds(intentId) : [] }
}

/**
 * Brings a checkout in line with the provider's state, read before this transaction: the
 * payment (if it succeeded and we had not applied it), then every refund the provider made.
 * Both are idempotent, so a stale read only applies less, never twice.
 */
export async function applyProviderState (trx: Trx, deps: Deps, checkoutId: string, state: ProviderState, eventId: string | null, source = 'reconciliation'): Promise<PaymentOutcome> {
  let outcome = NOTHING
  const payment: ReceivedPayment = { intentId: state.intent.id, amountReceived: state.intent.amountReceived, currency: state.intent.currency, eventId, source, chargeId: state.intent.latestCharge }
  if (state.intent.status === 'succeeded') outcome = await applyPaymentSucceeded(trx, deps, checkoutId, payment)
  if (outcome.review) return outcome
  const checkout = await lockCheckout(trx, checkoutId)
  if (checkout.amountReceived === null || state.refunds.length === 0) return outcome
  await lockOrdersOf(trx, checkoutId)
  const unplaced = await applyProviderRefunds(trx, deps, checkoutId, state.refunds)
  if (unplaced > 0) await keepForReview(trx, deps, checkout, 0, { ...payment, amountReceived: unplaced }, 'refund_exceeds_payment')
  const owedBack = await refundCancelledRemainders(trx, deps, checkoutId, checkout.amountReceived - state.refunds.reduce((sum, r) => sum + r.amount, 0))
  return { ...outcome, refundIds: [...outcome.refundIds, ...owedBack] }
}

/**
 * After a refund the provider refused (another refund, made elsewhere, took that money
 * first): the provider's refunds are read back and recorded, and what cancelled orders still
 * hold is refunded from what is left of the charge.
 */
export async function reconcileRefunds (deps: OrderDeps, checkoutId: string): Promise<void> {
  const checkout = await deps.db.selectFrom('checkouts').select('paymentIntentId').where('id', '=', checkoutId).executeTakeFirstOrThrow()
  if (!checkout.paymentIntentId) return
  const state = await readProviderState(deps.gateway, checkout.paymentIntentId)
  const outcome = await deps.db.transaction().execute((trx) => applyProviderState(trx, deps, checkoutId, state, null))
  for (const id of outcome.refundIds) await executeRefund(deps, id, { reconcileOnRefusal: false }).catch((err) => deps.log.warn({ refundId: id, err }, 'refund not completed now'))
}
