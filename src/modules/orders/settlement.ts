import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { Queryable, Trx } from '../../platform/db.ts'
import type { IntentState, PaymentGateway, ProviderRefund } from '../payments/gateway.ts'
import { applyProviderRefunds, executeRefund, executeRefunds, openRefund, refundCancelledRemainders, retryPendingRefunds } from './refunds.ts'
import { emailAboutOrder, lockStockOf, recordHistory, transitionOrder, type OrderDeps } from './service.ts'

// How a checkout's one payment meets its several orders. The invariant, per checkout:
// captured − refunded = what its orders not cancelled still owe. Before the payment, a cancel
// lowers the intent to what is owed (or cancels it); a payment is applied once, only if its
// amount and currency are what the checkout can owe, and any part of it that covers orders
// cancelled meanwhile is refunded at once. Every decision locks the checkout row, then its
// orders in id order.

export interface ReceivedPayment {
  intentId: string
  amountReceived: number | undefined
  currency: string | undefined
  eventId: string | null
  source: string
  /** False when the event's account was checked with the provider, which says the intent is not paid. */
  providerAgrees?: boolean
}
export interface PaymentOutcome { confirmed: number, refundIds: string[], review: boolean }
const NOTHING: PaymentOutcome = { confirmed: 0, refundIds: [], review: false }

export async function lockCheckout (trx: Trx, checkoutId: string) {
  return trx.selectFrom('checkouts').select(['id', 'totalAmount', 'currency', 'amountReceived', 'paymentIntentId'])
    .where('id', '=', checkoutId).forUpdate().executeTakeFirstOrThrow()
}

async function lockOrdersOf (trx: Trx, checkoutId: string) {
  return trx.selectFrom('orders').select(['id', 'status', 'paymentStatus', 'totalAmount', 'paidAmount', 'refundedAmount', 'workspaceId', 'checkoutId', 'updatedAt'])
    .where('checkoutId', '=', checkoutId).orderBy('id').forUpdate().execute()
}

/** What a checkout still owes: the total of its orders not cancelled. */
export async function owedAmount (db: Queryable, checkoutId: string): Promise<number> {
  const row = await db.selectFrom('orders').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('totalAmount'), sql<number>`0`).as('owed'))
    .where('checkoutId', '=', checkoutId).where('status', '!=', 'cancelled').executeTakeFirstOrThrow()
  return Number(row.owed)
}

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
    return { ...NOTHING, review: true }
  }
  await trx.updateTable('checkouts').set({ amountReceived: received }).where('id', '=', checkoutId).execute()
  const now = deps.clock.now()
  let confirmed = 0
  for (const order of live) {
    if (order.paymentStatus !== 'unpaid' && order.paymentStatus !== 'failed') continue
    await trx.updateTable('orders').set({ paymentStatus: 'paid', paidAmount: order.totalAmount, paidAt: now, updatedAt: now }).where('id', '=', order.id).execute()
    if (order.status === 'pending') {
      await transitionOrder(trx, deps, order, 'confirmed', 'payment', null, payment.source)
      await emailAboutOrder(trx, deps, order.id, 'payment-confirmed', true)
      confirmed++
    }
  }
  const cancelled = orders.filter((o) => o.status === 'cancelled' && (o.paymentStatus === 'unpaid' || o.paymentStatus === 'failed'))
    .sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime() || a.id.localeCompare(b.id))
  const refundIds: string[] = []
  for (const [orderId, share] of sharesOfExcess(cancelled, received - owed)) {
    await trx.updateTable('orders').set({ paymentStatus: 'paid', paidAmount: share, paidAt: now, updatedAt: now }).where('id', '=', orderId).execute()
    await recordHistory(trx, deps, orderId, 'cancelled', 'cancelled', 'payment', null, `payment received after cancellation: ${share} refunded`)
    refundIds.push(await openRefund(trx, deps, orderId, share, null, 'payment received after cancellation'))
    deps.log.warn({ orderId, share }, 'payment covered a cancelled order; its share is refunded')
  }
  return { confirmed, refundIds, review: false }
}

/** A failed payment marks unpaid orders failed; it never overwrites a payment that succeeded. */
export async function applyPaymentFailed (trx: Trx, deps: Deps, checkoutId: string): Promise<number> {
  // The lock order of every money decision (checkout, then its orders): never a deadlock with a success.
  await lockCheckout(trx, checkoutId)
  await lockOrdersOf(trx, checkoutId)
  const result = await trx.updateTable('orders').set({ paymentStatus: 'failed', updatedAt: deps.clock.now() })
    .where('checkoutId', '=', checkoutId).where('paymentStatus', '=', 'unpaid').executeTakeFirst()
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
  const payment: ReceivedPayment = { intentId: state.intent.id, amountReceived: state.intent.amountReceived, currency: state.intent.currency, eventId, source }
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

/**
 * After an unpaid order was cancelled: the intent is lowered to what the checkout still owes,
 * or cancelled when nothing is. The checkout row stays locked during the provider call, so
 * changes to one intent reach the provider in the order they were decided (without it, a
 * stale larger amount could land last, and re-sending the right amount under its
 * amount-derived idempotency key would only replay the earlier answer). If the provider
 * says the intent was paid meanwhile, that payment is applied now (refunding what it covered
 * of cancelled orders).
 */
export async function syncIntentAmount (deps: OrderDeps, checkoutId: string): Promise<void> {
  const refundIds = await deps.db.transaction().execute(async (trx) => {
    const checkout = await lockCheckout(trx, checkoutId)
    if (!checkout.paymentIntentId || checkout.amountReceived !== null) return []
    const owed = await owedAmount(trx, checkoutId)
    const change = owed === 0
      ? await deps.gateway.cancelIntent(checkout.paymentIntentId)
      : await deps.gateway.updateIntentAmount(checkout.paymentIntentId, owed, `intent-amount-${checkoutId}-${owed}`)
    if (change === 'done') return []
    const state = await readProviderState(deps.gateway, checkout.paymentIntentId)
    return (await applyProviderState(trx, deps, checkoutId, state, null)).refundIds
  })
  await executeRefunds(deps, refundIds)
}

/** syncIntentAmount for callers whose own change already committed: a failure is logged, not thrown (a late payment is refunded anyway). */
export async function syncIntentAmountQuietly (deps: OrderDeps, checkoutId: string): Promise<void> {
  try {
    await syncIntentAmount(deps, checkoutId)
  } catch (err) {
    deps.log.warn({ checkoutId, err }, 'could not lower the payment intent; a payment that still arrives is refunded in part')
  }
}

// ---- Expiry and reconciliation (the order-expiry job) ----

export const PAYMENT_WINDOW_MS = 30 * 60_000

/**
 * Orders unpaid 30 minutes after checkout are cancelled and their stock returned; but first the
 * provider is asked for the payment's real state, so a payment whose webhook was lost still
 * confirms its orders, and the intent is cancelled before the orders are, so no payment can
 * arrive for them afterwards. Checkouts kept for review wait for a person.
 */
export async function expireUnpaidOrders (deps: OrderDeps, batch = 100): Promise<{ confirmed: number, cancelled: number }> {
  const cutoff = new Date(deps.clock.now().getTime() - PAYMENT_WINDOW_MS)
  const checkouts = await deps.db.selectFrom('orders as o').innerJoin('checkouts as c', 'c.id', 'o.checkoutId')
    .select(['c.id', 'c.paymentIntentId']).distinct()
    .where('o.status', '=', 'pending').where('o.paymentStatus', 'in', ['unpaid', 'failed']).where('c.createdAt', '<', cutoff)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('paymentReviews as r').select('r.id').whereRef('r.checkoutId', '=', 'c.id').where('r.resolvedAt', 'is', null))))
    .limit(batch).execute()
  let confirmed = 0
  let cancelled = 0
  for (const checkout of checkouts) {
    let state: ProviderState | null = null
    if (checkout.paymentIntentId) {
      state = await readProviderState(deps.gateway, checkout.paymentIntentId).catch(() => null)
      if (!state) continue // provider unreachable: ask again next run
    }
    if (state?.intent.status === 'succeeded') {
      const outcome = await deps.db.transaction().execute((trx) => applyProviderState(trx, deps, checkout.id, state, null))
      confirmed += outcome.confirmed
      await executeRefunds(deps, outcome.refundIds)
      continue
    }
    if (state?.intent.status === 'processing') continue
    if (state && state.intent.status !== 'canceled') {
      const change = await deps.gateway.cancelIntent(state.intent.id).catch(() => null)
      if (change !== 'done') continue // paid meanwhile, or unreachable: the next run sees its real state
    }
    cancelled += await deps.db.transaction().execute(async (trx) => {
      const locked = await lockCheckout(trx, checkout.id)
      // An intent made since the provider was asked (a retried checkout) is looked at next run.
      if (locked.amountReceived !== null || locked.paymentIntentId !== checkout.paymentIntentId) return 0
      const orders = (await lockOrdersOf(trx, checkout.id)).filter((o) => o.status === 'pending' && (o.paymentStatus === 'unpaid' || o.paymentStatus === 'failed'))
      await lockStockOf(trx, orders.map((o) => o.id))
      for (const order of orders) await transitionOrder(trx, deps, order, 'cancelled', 'system', null, 'payment not received within 30 minutes')
      return orders.length
    })
  }
  await retryPendingRefunds(deps)
  return { confirmed, cancelled }
}
