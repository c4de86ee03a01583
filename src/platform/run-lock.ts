import type { RedisClient } from './redis.ts'
import { ownedKeys } from './redis.ts'

// One run at a time across worker copies, for periodic jobs. The lock is short and renewed while
// the run works, so a worker that dies mid-run (no release, no renewal) holds up the next runs
// for seconds, as BullMQ's own job locks do, not for minutes.

const RUN_LOCK_MS = 10_000

export interface LockOptions {
  /** How long the lock lives unless renewed (renewed every third of it). */
  ttlMs?: number
}

/**
 * Runs `run` under the lock `key`, or returns `skipped` when another run holds it. `run` gets a
 * signal that aborts when a renewal finds the lock gone or another's (it lapsed while this
 * process stalled): a long run checks it between steps and stops, so two runs never go on
 * side by side.
 */
export async function withLock<T> (redis: RedisClient, key: string, token: string, run: (signal: AbortSignal) => Promise<T>, options: LockOptions = {}): Promise<T | { skipped: true }> {
  const ttlMs = options.ttlMs ?? RUN_LOCK_MS
  if (await redis.set(key, token, 'PX', ttlMs, 'NX') !== 'OK') return { skipped: true }
  const lost = new AbortController()
  const renewal = setInterval(() => {
    ownedKeys(redis).expireIfOwner(key, token, ttlMs).then((renewed) => {
      if (renewed === 0) lost.abort()
    }, () => {}) // Redis unreachable: the next renewal tries again; the lock lapses if none lands.
  }, ttlMs / 3)
  renewal.unref()
  try {
    return await run(lost.signal)
  } finally {
    clearInterval(renewal)
    // Release only our own lock; if Redis fails here, the lock lapses by itself in seconds.
    await ownedKeys(redis).deleteIfOwner(key, token).catch(() => {})
  }
}
