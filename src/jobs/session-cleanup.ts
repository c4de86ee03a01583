import type { Deps } from '../platform/deps.ts'
import { withLock } from '../platform/run-lock.ts'
import { finalizeExpiredSessions } from '../modules/sessions/public.ts'

const LOCK_KEY = 'lock:session-cleanup'

/**
 * Finalises expired sessions. One run at a time however many workers (a renewed lock, so one
 * left by a worker that died lapses within seconds; each session is finalised atomically
 * anyway, so an overlap could not end one twice).
 */
export function createSessionCleanupProcessor (deps: Deps) {
  return async (): Promise<{ finalized: number, skipped?: true }> => {
    const result = await withLock(deps.redis, LOCK_KEY, deps.random.token(16), async () => ({ finalized: await finalizeExpiredSessions(deps) }))
    return 'skipped' in result ? { finalized: 0, skipped: true } : result
  }
}
