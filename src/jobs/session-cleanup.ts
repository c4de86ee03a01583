import type { Deps } from '../platform/deps.ts'
import { withLock, type LockOptions } from '../platform/run-lock.ts'
import { finalizeExpiredSessions, type FinalizeOptions } from '../modules/sessions/public.ts'

const LOCK_KEY = 'lock:session-cleanup'

/**
 * Finalises expired sessions. One run at a time however many workers: the run lock is renewed
 * while the run works (a million sessions take longer than the lock lives), and a run that
 * finds its lock lost stops after the round under way. Each session is finalised atomically
 * anyway, so even an overlap could not end one twice. `options` are for tests and benchmarks.
 */
export function createSessionCleanupProcessor (deps: Deps, options: { lock?: LockOptions, finalize?: Omit<FinalizeOptions, 'signal'> } = {}) {
  return async (): Promise<{ finalized: number, skipped?: true, lockLost?: true }> => {
    const result = await withLock(deps.redis, LOCK_KEY, deps.random.token(16), async (signal) => {
      const finalized = await finalizeExpiredSessions(deps, { ...options.finalize, signal })
      return signal.aborted ? { finalized, lockLost: true as const } : { finalized }
    }, options.lock)
    return 'skipped' in result ? { finalized: 0, skipped: true } : result
  }
}
