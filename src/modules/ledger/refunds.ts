import type { Trx } from '../../platform/db.ts'
import type { Deps } from '../../platform/deps.ts'
import { addToOutbox } from '../../platform/outbox.ts'
import { entryMaker } from './entries.ts'
import { commissionReturned, fundingReturned, reversalTarget, unclaimedAmount } from './split.ts'
import type { RefundChange } from './types.ts'

// A change of what an order shows refunded (refund settlement's one choke point calls this,
// under the checkout and order locks) splits on the ledger by the cumulative rule of plan §3.5,
// then meets the vendor's transfer under its row lock: a transfer not made (not yet claimed, or
// failed) is lowered to what is still due; one claimed or paid is reversed in proportion, cumulatively and never
// beyond what it carried.

/** Records a refund change, and reverses or lowers the vendor's transfer in proportion. */
export async function recordRefundChange (trx: Trx, deps: Deps, change: RefundChange): Promise<void> {
  const delta = change.refundedAfter - change.refundedBefore
  if (delta === 0) return
  // An order paid before the ledger existed (no sale recorded) has nothing to split.
  const transfer = await trx.selectFrom('vendorTransfers').select(['id', 'status', 'amount'])
    .where('orderId', '=', change.orderId).where('kind', '=', 'sale').forNoKeyUpdate().executeTakeFirst()
  if (!transfer) return
  const money = { paid: change.paidAmount, commission: change.commission, funding: change.platformFundedDiscount }
  const before = Math.max(0, change.refundedBefore)
  const after = Math.max(0, change.refundedAfter)
  const commissionBack = commissionReturned(money, after) - commissionReturned(money, before)
  const fundingBack = fundingReturned(money, after) - fundingReturned(money, before)
  const e = entryMaker(deps, change.currency, { orderId: change.orderId, refundId: change.refundId })
  const ws = change.workspaceId
  if (delta > 0) {
    e.add(ws, 'pending', 'refund', -delta)
    e.add(ws, 'pending', 'commission_refund', commissionBack)
    e.add(ws, 'pending', 'funding_refund', -fundingBack)
    e.add(null, 'platform', 'commission_refund', -commissionBack)
    e.add(null, 'platform', 'funding_refund', fundingBack)
  } else {
    // A refund undone (its money moved to another order of the checkout): the same rows, mirrored.
    e.add(ws, 'pending', 'adjustment', -delta)
    e.add(ws, 'pending', 'adjustment', commissionBack)
    e.add(ws, 'pending', 'adjustment', -fundingBack)
    e.add(null, 'platform', 'adjustment', -commissionBack)
    e.add(null, 'platform', 'adjustment', fundingBack)
  }
  if (e.rows.length > 0) await trx.insertInto('ledgerEntries').values(e.rows).execute()

  const now = deps.clock.now()
  // Not made (yet, or refused for good: an operator's retry sends what is owed then).
  if (transfer.status === 'waiting' || transfer.status === 'queued' || transfer.status === 'failed') {
    await trx.updateTable('vendorTransfers').set({ amount: unclaimedAmount(money, after), updatedAt: now }).where('id', '=', transfer.id).execute()
    return
  }
  if (transfer.status !== 'in_flight' && transfer.status !== 'paid') return
  const reversed = await trx.selectFrom('transferReversals').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount'), eb.lit(0)).as('sum'))
    .where('transferId', '=', transfer.id).where('status', 'in', ['pending', 'paid']).executeTakeFirstOrThrow()
  const more = reversalTarget(money, after, transfer.amount) - Number(reversed.sum)
  if (more < 0) {
    deps.log.warn({ orderId: change.orderId, transferId: transfer.id, overReversed: -more }, 'a refund was undone after its reversal: the vendor is owed a top-up (not automated)')
    return
  }
  if (more === 0) return
  const id = deps.random.uuid()
  await trx.insertInto('transferReversals').values({ id, transferId: transfer.id, refundId: change.refundId, amount: more, status: 'pending', createdAt: now, updatedAt: now }).execute()
  await addToOutbox(trx, 'payouts', 'reversal', { reversalId: id })
}
