import { lockPayoutReadiness } from '../payouts/public.ts'
import type { LedgerDeps } from './ledger-deps.ts'
import { releaseWaitingTransfers } from './transfers.ts'

// Every minute (one run at a time): work whose job was lost or gave up is queued again, so no
// money is stranded — queued transfers older than 2 minutes, claims older than 10 (a worker
// died, or the provider kept failing), waiting transfers of vendors now enabled, and pending
// reversals whose transfer is paid. Job ids name the attempt, so a sweep never doubles a job
// that is still queued.

const BATCH = 200

export interface SweepResult { transfers: number, released: number, reversals: number }

export async function sweepPayouts (deps: LedgerDeps): Promise<SweepResult> {
  const now = deps.clock.now()
  const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000)
  const stale = await deps.db.selectFrom('vendorTransfers').select(['id', 'attempts'])
    .where((eb) => eb.or([
      eb.and([eb('status', '=', 'queued'), eb('updatedAt', '<', minutesAgo(2))]),
      eb.and([eb('status', '=', 'in_flight'), eb('updatedAt', '<', minutesAgo(10))])
    ])).orderBy('updatedAt').limit(BATCH).execute()
  if (stale.length > 0) {
    await deps.queues.payouts.addBulk(stale.map((t) => ({ name: 'transfer', data: { transferId: t.id }, opts: { jobId: `transfer-${t.id}-${t.attempts}` } })))
  }
  const waiting = await deps.db.selectFrom('vendorTransfers').select('workspaceId').distinct()
    .where('status', '=', 'waiting').limit(BATCH).execute()
  let released = 0
  if (waiting.length > 0) {
    released = await deps.db.transaction().execute(async (trx) => {
      const readiness = await lockPayoutReadiness(trx, waiting.map((w) => w.workspaceId).sort())
      let n = 0
      for (const [workspaceId, r] of readiness) if (r.enabled) n += await releaseWaitingTransfers(trx, deps, workspaceId)
      return n
    })
  }
  const reversals = await deps.db.selectFrom('transferReversals as r').innerJoin('vendorTransfers as t', 't.id', 'r.transferId')
    .select(['r.id', 'r.attempts']).where('r.status', '=', 'pending').where('t.status', '=', 'paid')
    .where('r.updatedAt', '<', minutesAgo(2)).orderBy('r.updatedAt').limit(BATCH).execute()
  if (reversals.length > 0) {
    await deps.queues.payouts.addBulk(reversals.map((r) => ({ name: 'reversal', data: { reversalId: r.id }, opts: { jobId: `reversal-${r.id}-${r.attempts}` } })))
  }
  if (stale.length + released + reversals.length > 0) deps.log.info({ transfers: stale.length, released, reversals: reversals.length }, 'payouts sweep queued work again')
  return { transfers: stale.length, released, reversals: reversals.length }
}
