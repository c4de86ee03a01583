import type { Deps } from '../platform/deps.ts'
import { finalizeExpiredSessions } from '../modules/sessions/service.ts'

const LOCK_KEY = 'lock:session-cleanup'
const LOCK_MS = 5 * 60_000

/**
 * Finalises expired sessions. One run at a time however many workers: a run takes a Redis lock
 * (and each session is finalised atomically anyway, so an overlap could not end one twice).
 */
export function createSessionCleanupProcessor (deps: Deps) {
  return async (): Promise<{ finalized: number, skipped?: true }> => {
    const token = deps.random.token(16)
    if (await deps.redis.set(LOCK_KEY, token, 'PX', LOCK_MS, 'NX') !== 'OK') return { finalized: 0, skipped: true }
    try {
      return { finalized: await finalizeExpiredSessions(deps) }
    } finally {
      // Release only our own lock, in case it expired and another run took it.
      await deps.redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, LOCK_KEY, token)
    }
  }
}
