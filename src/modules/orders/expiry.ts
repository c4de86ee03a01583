import { lockCheckout, lockOrdersOf } from './checkout-records.ts'
import { lockStockOf, transitionOrder } from './lifecycle.ts'
import type { OrderDeps } from './order-deps.ts'
import { applyProviderState, readProviderState, type ProviderState } from './payment-outcomes.ts'
import { executeRefunds, retryPendingRefunds } from './refunds.ts'
import { isUnpaid, UNPAID } from './transitions.ts'

const PAYMENT_WINDOW_MS = 30 * 60_000

/**
 * Orders unpaid 30 minutes after checkout are cancelled and their stock returned; but first the
 * provider is asked for the payment's real state, so a payment whose webhook was lost still
 * confirms its orders, and the intent is cancelled before the orders are, so no payment can
 * arrive for them afterwards. Checkouts kept for review wait for a person. Refunds left
 * pending are asked of the provider again.
 */
export async function expireUnpaidOrders (deps: OrderDeps, batch = 100): Promise<{ confirmed: number, cancelled: number }> {
  const cutoff = new Date(deps.clock.now().getTime() - PAYMENT_WINDOW_MS)
  const checkouts = await deps.db.selectFrom('orders as o').innerJoin('checkouts as c', 'c.id', 'o.checkoutId')
    .select(['c.id', 'c.paymentIntentId']).distinct()
    .where('o.status', '=', 'pending').where('o.paymentStatus', 'in', UNPAID).where('c.createdAt', '<', cutoff)
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
      const orders = (await lockOrdersOf(trx, checkout.id)).filter((o) => o.status === 'pending' && isUnpaid(o.paymentStatus))
      await lockStockOf(trx, orders.map((o) => o.id))
      for (const order of orders) await transitionOrder(trx, deps, order, 'cancelled', 'system', null, 'payment not received within 30 minutes')
      return orders.length
    })
  }
  await retryPendingRefunds(deps)
  return { confirmed, cancelled }
}
