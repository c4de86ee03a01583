import { payoutReversals } from './counters.ts'
import { entryMaker } from './entries.ts'
import { KEY_PRUNE_MS, refusalCode, type LedgerDeps } from './ledger-deps.ts'

// A transfer reversal (a vendor's part of a refund, taken back from its connected account) is
// made once, as a transfer is: the row exists before the provider is asked (written with the
// refund), the request carries a key naming the row, and its ledger pair is inserted once. A
// reversal waits (throws, retried with backoff and by the sweep) until its transfer is paid.

export type ReversalOutcome = 'paid' | 'failed' | 'skipped'

export async function processReversal (deps: LedgerDeps, reversalId: string): Promise<ReversalOutcome> {
  const r = await deps.db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('transferReversals as r').innerJoin('vendorTransfers as t', 't.id', 'r.transferId')
      .select(['r.id', 'r.status', 'r.amount', 'r.attempts', 'r.createdAt', 'r.refundId', 'r.transferId', 't.status as transferStatus', 't.stripeTransferId', 't.orderId', 't.workspaceId', 't.currency'])
      .where('r.id', '=', reversalId).forNoKeyUpdate('r').executeTakeFirst()
    if (!row || row.status !== 'pending') return null
    if (row.transferStatus !== 'paid' || !row.stripeTransferId) throw new Error(`reversal ${reversalId} waits for its transfer (${row.transferStatus})`)
    await trx.updateTable('transferReversals').set((eb) => ({ attempts: eb('attempts', '+', 1), updatedAt: deps.clock.now() })).where('id', '=', row.id).execute()
    return { ...row, stripeTransferId: row.stripeTransferId, attempts: row.attempts + 1 }
  })
  if (!r) return 'skipped'
  let stripeId: string | null = null
  if (r.attempts > 1 && deps.clock.now().getTime() - r.createdAt.getTime() > KEY_PRUNE_MS) {
    stripeId = (await deps.connect.findReversal(r.stripeTransferId, r.id))?.id ?? null
  }
  if (stripeId === null) {
    try {
      stripeId = (await deps.connect.createReversal({
        transferId: r.stripeTransferId, amount: r.amount, metadata: { reversalId: r.id, refundId: r.refundId ?? '' }, idempotencyKey: `reversal-${r.id}`
      })).id
    } catch (err) {
      const code = refusalCode(err)
      if (code === null) throw err
      await deps.db.updateTable('transferReversals').set({ status: 'failed', lastError: `${code}: ${(err as Error).message}`.slice(0, 500), updatedAt: deps.clock.now() })
        .where('id', '=', r.id).where('status', '=', 'pending').execute()
      deps.metrics.count(payoutReversals, { outcome: 'failed' })
      deps.log.error({ reversalId: r.id, transferId: r.transferId, code }, 'transfer reversal refused by the provider: an operator must act (GET /admin/reversals?status=failed)')
      return 'failed'
    }
  }
  const settledId = stripeId
  await deps.db.transaction().execute(async (trx) => {
    const now = deps.clock.now()
    const done = await trx.updateTable('transferReversals').set({ status: 'paid', stripeReversalId: settledId, paidAt: now, updatedAt: now, lastError: null })
      .where('id', '=', r.id).where('status', '=', 'pending').returning('id').executeTakeFirst()
    if (!done) return
    deps.metrics.count(payoutReversals, { outcome: 'paid' })
    const e = entryMaker(deps, r.currency, { orderId: r.orderId, refundId: r.refundId, transferId: r.transferId, reversalId: r.id })
    e.add(r.workspaceId, 'paid_out', 'transfer_reversal', -r.amount)
    e.add(r.workspaceId, 'pending', 'transfer_reversal', r.amount)
    await trx.insertInto('ledgerEntries').values(e.rows).onConflict((oc) => oc.doNothing()).execute()
  })
  return 'paid'
}
