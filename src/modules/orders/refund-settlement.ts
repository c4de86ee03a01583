import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { Trx } from '../../platform/db.ts'
import type { ProviderRefund } from '../../platform/payment-provider.ts'
import { refundsSettled } from './counters.ts'
import { emailAboutRefund } from './notifications.ts'
import { refundableAmount } from './refunds.ts'
import { recordRefundChange } from '../ledger/public.ts'

// A refund is settled once: `pending → succeeded` is a guarded update, and only the statement
// that makes it adds the amount to the order. Whoever learns of the provider's refund first
// (our own request, a webhook that read the provider's list, the retry job) settles it; the
// others find it settled. Refunds made in the provider's dashboard are recorded here too.

const AT_PROVIDER = 'refunded at the payment provider'

/** Changes what a (locked) order shows as refunded, and records the change on the ledger (refund `refundId`). */
async function changeRefunded (trx: Trx, deps: Deps, orderId: string, amount: number, refundId: string): Promise<void> {
  const o = await trx.updateTable('orders').set((eb) => ({
    refundedAmount: eb('refundedAmount', '+', amount),
    paymentStatus: sql`case when refunded_amount + ${amount} >= paid_amount then 'refunded' when refunded_amount + ${amount} = 0 then 'paid' else 'partially_refunded' end`,
    updatedAt: deps.clock.now()
  })).where('id', '=', orderId)
    .returning(['workspaceId', 'currency', 'refundedAmount', 'paidAmount', 'commissionAmount', 'platformFundedDiscount']).executeTakeFirstOrThrow()
  await recordRefundChange(trx, deps, {
    orderId,
    workspaceId: o.workspaceId,
    currency: o.currency,
    refundId,
    refundedBefore: o.refundedAmount - amount,
    refundedAfter: o.refundedAmount,
    paidAmount: o.paidAmount,
    commission: o.commissionAmount,
    platformFundedDiscount: o.platformFundedDiscount
  })
}

/** Adds a settled refund to its (locked) order and tells the customer. */
async function addToOrder (trx: Trx, deps: Deps, orderId: string, amount: number, refundId: string): Promise<void> {
  await changeRefunded(trx, deps, orderId, amount, refundId)
  await emailAboutRefund(trx, deps, orderId, amount)
  deps.metrics.count(refundsSettled)
}

/**
 * A refund made in Stripe's dashboard while all that was left of the charge was already on its
 * way back in our refunds could only be counted on an order whose money was in flight; when
 * that refund of ours settles, the overlap is moved (as parts of the same provider refund) to
 * the other orders of the checkout that still hold money, so no order shows more refunded than
 * it paid and the refund our provider then refuses is reconciled for what is really left.
 */
async function moveProviderShares (trx: Trx, deps: Deps, orderId: string, checkoutId: string, overlap: number): Promise<void> {
  const rows = await trx.selectFrom('refunds').select(['id', 'amount', 'providerRefundId']).where('orderId', '=', orderId).where('status', '=', 'succeeded')
    .where('reason', '=', AT_PROVIDER).orderBy('createdAt', 'desc').orderBy('id').execute()
  const targets = (await trx.selectFrom('orders').select(['id', 'status', 'paidAmount', 'refundedAmount']).where('checkoutId', '=', checkoutId).where('id', '!=', orderId)
    .orderBy('id').execute()).sort((a, b) => Number(b.status === 'cancelled') - Number(a.status === 'cancelled'))
  let left = overlap
  for (const row of rows) {
    let kept = row.amount
    for (const target of targets) {
      const share = Math.min(target.paidAmount - target.refundedAmount, kept, left)
      if (share <= 0) continue
      const now = deps.clock.now()
      const id = deps.random.uuid()
      await trx.insertInto('refunds').values({ id, orderId: target.id, amount: share, status: 'succeeded', providerRefundId: row.providerRefundId, reason: AT_PROVIDER, createdBy: null, createdAt: now, updatedAt: now }).execute()
      await changeRefunded(trx, deps, target.id, share, id)
      target.refundedAmount += share
      kept -= share
      left -= share
    }
    if (kept === 0) await trx.deleteFrom('refunds').where('id', '=', row.id).execute()
    else if (kept !== row.amount) await trx.updateTable('refunds').set({ amount: kept, updatedAt: deps.clock.now() }).where('id', '=', row.id).execute()
    await changeRefunded(trx, deps, orderId, kept - row.amount, row.id)
    if (left === 0) break
  }
  if (left > 0) deps.log.error({ orderId, checkoutId, overlap: left }, 'refunds of an order exceed what it paid and fit nowhere else')
}

/** Marks our refund done at the provider, once; returns whether this call settled it. */
export async function settleRefund (trx: Trx, deps: Deps, refundId: string, providerRefundId: string): Promise<boolean> {
  const refund = await trx.selectFrom('refunds as r').innerJoin('orders as o', 'o.id', 'r.orderId').select(['r.orderId', 'o.checkoutId']).where('r.id', '=', refundId).executeTakeFirst()
  if (!refund) return false
  // The lock order of every money decision: the checkout, then its orders by id.
  await trx.selectFrom('checkouts').select('id').where('id', '=', refund.checkoutId).forNoKeyUpdate().execute()
  await trx.selectFrom('orders').select('id').where('checkoutId', '=', refund.checkoutId).orderBy('id').forNoKeyUpdate().execute()
  // A refund marked failed that the provider did make after all (a lost response) counts too.
  const settled = await trx.updateTable('refunds').set({ status: 'succeeded', providerRefundId, updatedAt: deps.clock.now() })
    .where('id', '=', refundId).where('status', 'in', ['pending', 'failed']).returning(['amount', 'orderId']).executeTakeFirst()
  if (!settled) return false
  const order = await trx.selectFrom('orders').select(['paidAmount', 'refundedAmount']).where('id', '=', settled.orderId).executeTakeFirstOrThrow()
  const overlap = order.refundedAmount + settled.amount - order.paidAmount
  if (overlap > 0) await moveProviderShares(trx, deps, settled.orderId, refund.checkoutId, overlap)
  await addToOrder(trx, deps, settled.orderId, settled.amount, refundId)
  return true
}

/**
 * Applies the provider's list of refunds of a checkout whose payment is applied and whose
 * checkout and order rows the caller has locked: ours are settled; the others (made in the
 * provider's dashboard) are recorded once by provider id and spread over the live orders.
 * Returns the amount that fitted nowhere (0 normally).
 */
export async function applyProviderRefunds (trx: Trx, deps: Deps, checkoutId: string, providerRefunds: ProviderRefund[]): Promise<number> {
  let unplaced = 0
  for (const pr of providerRefunds.filter((r) => r.status === 'succeeded' || r.status === 'pending')) {
    const ours = pr.metadata.refundId
      ? await trx.selectFrom('refunds as r').innerJoin('orders as o', 'o.id', 'r.orderId').select('r.id').where('r.id', '=', pr.metadata.refundId).where('o.checkoutId', '=', checkoutId).executeTakeFirst()
      : undefined
    if (ours) { await settleRefund(trx, deps, ours.id, pr.id); continue }
    const known = await trx.selectFrom('refunds').select('id').where('providerRefundId', '=', pr.id).executeTakeFirst()
    if (known) continue
    const orders = await trx.selectFrom('orders').select(['id', 'status'])
      .where('checkoutId', '=', checkoutId).where('paidAmount', '>', 0).orderBy('id').forNoKeyUpdate().execute()
    let left = pr.amount
    // Where it belongs least ambiguously first: what cancelled orders still hold, then the
    // standing orders; both net of our refunds in flight. Last (the provider refuses ours if
    // the charge cannot cover them, and they are reconciled then), whatever was paid.
    for (const pass of ['cancelled', 'standing', 'any'] as const) {
      for (const order of orders) {
        if (left === 0) break
        if ((pass === 'cancelled') !== (order.status === 'cancelled') && pass !== 'any') continue
        const current = await trx.selectFrom('orders').select(['paidAmount', 'refundedAmount']).where('id', '=', order.id).executeTakeFirstOrThrow()
        const room = pass === 'any' ? current.paidAmount - current.refundedAmount : await refundableAmount(trx, { id: order.id, ...current })
        const share = Math.min(room, left)
        if (share <= 0) continue
        const now = deps.clock.now()
        const id = deps.random.uuid()
        await trx.insertInto('refunds').values({ id, orderId: order.id, amount: share, status: 'succeeded', providerRefundId: pr.id, reason: AT_PROVIDER, createdBy: null, createdAt: now, updatedAt: now }).execute()
        await addToOrder(trx, deps, order.id, share, id)
        left -= share
      }
    }
    unplaced += left
  }
  return unplaced
}
