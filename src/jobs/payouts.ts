import type { Job } from 'bullmq'
import { processReversal, processTransfer, sweepPayouts, type LedgerDeps } from '../modules/ledger/public.ts'
import type { JobPayloads } from '../platform/queues.ts'
import { withLock } from '../platform/run-lock.ts'

// The payouts queue (issue 14): `transfer` and `reversal` jobs carry one row id each and are
// safe to run any number of times (the row's state and the provider key decide); `sweep` runs
// every minute, one at a time, and queues again whatever a lost or exhausted job left behind.
const SWEEP_LOCK = 'lock:payouts-sweep'

export function createPayoutsProcessor (deps: LedgerDeps) {
  return async (job: Job<JobPayloads['payouts']>): Promise<unknown> => {
    if (job.name === 'transfer' && job.data.transferId) return processTransfer(deps, job.data.transferId)
    if (job.name === 'reversal' && job.data.reversalId) return processReversal(deps, job.data.reversalId)
    if (job.name === 'sweep') return withLock(deps.redis, SWEEP_LOCK, deps.random.token(16), () => sweepPayouts(deps))
    throw new Error(`payouts: unknown job ${job.name}`)
  }
}
