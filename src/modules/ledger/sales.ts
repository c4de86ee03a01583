import { sql } from 'kysely'
import type { Insertable } from 'kysely'
import type { Trx } from '../../platform/db.ts'
import type { VendorTransfers } from '../../platform/db-types.ts'
import type { Deps } from '../../platform/deps.ts'
import { outboxInsert, type OutboxMessage } from '../../platform/outbox.ts'
import { lockPayoutReadiness } from '../payouts/public.ts'
import { entryMaker, type EntryRow } from './entries.ts'
import { shareOf } from './split.ts'
import type { SaleFacts, TransferStatus } from './types.ts'

// A checkout's payment, applied once to its orders (in the payment outcome's transaction, under
// its checkout and order locks), becomes each order's sale on the ledger and one vendor
// transfer per order: queued (and an outbox job) when the vendor can be paid now, waiting
// otherwise, void when nothing is due (a zero share, or a cancelled order's share that is
// refunded whole). The unique (order_id) index of sale transfers and of sale rows makes a
// second recording impossible, whatever is replayed.

/** Records a checkout's sales and queues or holds each vendor's transfer: 2 statements. */
export async function recordSales (trx: Trx, deps: Deps, input: { checkoutId: string, chargeId: string | null, orders: SaleFacts[] }): Promise<void> {
  const sold = input.orders.filter((o) => o.paidAmount > 0).sort((a, b) => a.orderId.localeCompare(b.orderId))
  if (sold.length === 0) return
  // For share: an account.updated that enables a vendor waits for this transaction, or this one sees it enabled.
  const readiness = await lockPayoutReadiness(trx, [...new Set(sold.map((o) => o.workspaceId))].sort())
  const charged = sold.reduce((sum, o) => sum + o.paidAmount, 0)
  const now = deps.clock.now()
  const entries: EntryRow[] = []
  const transfers: Array<Insertable<VendorTransfers>> = []
  const messages: OutboxMessage[] = []
  let fromCharge = 0
  for (const o of sold) {
    const money = { paid: o.paidAmount, commission: o.commission, funding: o.platformFundedDiscount }
    const e = entryMaker(deps, o.currency, { orderId: o.orderId })
    e.add(o.workspaceId, 'pending', 'sale', money.paid)
    e.add(o.workspaceId, 'pending', 'commission', -money.commission)
    e.add(o.workspaceId, 'pending', 'discount_funding', money.funding)
    e.add(null, 'platform', 'commission', money.commission)
    e.add(null, 'platform', 'discount_funding', -money.funding)
    entries.push(...e.rows)
    const share = Math.max(0, shareOf(money))
    const status: TransferStatus = !o.live || share === 0 ? 'void' : readiness.get(o.workspaceId)?.enabled === true ? 'queued' : 'waiting'
    // Transfers are funded by the charge while it covers them; one that would pass it (platform
    // funding above commission) needs the platform's own balance.
    const funded = status !== 'void' && fromCharge + share <= charged
    if (funded) fromCharge += share
    const id = deps.random.uuid()
    transfers.push({
      id,
      orderId: o.orderId,
      kind: 'sale',
      workspaceId: o.workspaceId,
      checkoutId: input.checkoutId,
      currency: o.currency,
      amount: share,
      status,
      sourceChargeId: funded ? input.chargeId : null,
      createdAt: now,
      updatedAt: now
    })
    if (status === 'queued') messages.push({ queue: 'payouts', jobName: 'transfer', payload: { transferId: id } })
  }
  // One statement (a sale always has its sale row, so entries is never empty).
  const written = trx.with('vt', (db) => db.insertInto('vendorTransfers').values(transfers).returning('id'))
    .with('le', (db) => db.insertInto('ledgerEntries').values(entries).returning('id'))
  if (messages.length > 0) await written.with('ob', () => outboxInsert(trx, messages).returning('id')).selectNoFrom(sql<number>`1`.as('one')).execute()
  else await written.selectNoFrom(sql<number>`1`.as('one')).execute()
}
