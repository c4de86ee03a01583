import { lockCheckout, owedAmount } from './checkout-records.ts'
import type { OrderDeps } from './order-deps.ts'
import { applyProviderState, readProviderState } from './payment-outcomes.ts'
import { executeRefunds } from './refunds.ts'

// A checkout's one payment intent at the provider: created for what the checkout owes, then
// lowered (or cancelled) as its unpaid orders are cancelled, so the customer is never charged
// for an order that no longer stands.

export interface IntentHandle { id: string, clientSecret: string, status: string }

/**
 * Creates the checkout's intent for what it still owes (a retry after a failed creation may
 * come after some of its orders were cancelled), or none when nothing is owed. The first
 * intent stored wins; a cancel that committed while ours was being made is applied to it.
 * `fresh`: the checkout was made by this request, so it owes its total (a cancel racing in is
 * caught by the check after the intent is stored, as for a retry).
 */
export async function createCheckoutIntent (deps: OrderDeps, checkout: { id: string, totalAmount: number, currency: string, userId: string }, fresh: boolean): Promise<IntentHandle | null> {
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
