import type { RedisClient } from './redis.ts'
import { ownedKeys } from './redis.ts'

// One run at a time across worker copies, for periodic jobs. The lock is short and renewed while
// the run works, so a worker that dies mid-run (no release, no renewal) holds up the next runs
// for seconds, as BullMQ's own job locks do, not for minutes.

const RUN_LOCK_MS = 10_000

/** Runs `run` under the lock `key`, or returns `skipped` when another run holds it. */
export async function withLock<T> (redis: RedisClient, key: string, token: string, run: () => Promise<T>): Promise<T | { skipped: true }> {
  if (await redis.set(key, token, 'PX', RUN_LOCK_MS, 'NX') !== 'OK') return { skipped: true }
  const renewal = setInterval(() => {
    ownedKeys(redis).expireIfOwner(key, token, RUN_LOCK_MS).catch(() => {})
  }, RUN_LOCK_MS / 3)
  renewal.unref()
  try {
    return await run()
  } finally {
    clearInterval(renewal)
    // Release only our own lock; if Redis fails here, the lock lapses by itself in seconds.
    await ownedKeys(redis).deleteIfOwner(key, token).catch(() => {})
  }
}
