import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { EndReason } from './schemas.ts'
import { USER_BUCKETS } from '../../platform/user-slot.ts'
import { expiresAt, expiryIndex, fromHash, pairsToHash, sessionExpiryIndex, sessionKey, sessionRedis, userSessionsKey, type StoredSession } from './store.ts'

// A session ends by logout, revocation, a security event or expiry: it leaves Redis in one
// atomic step (so only one caller ends it) and its final counters, reason and duration are
// written to Postgres.

interface Ended { session: StoredSession, reason: EndReason, at: Date }

async function writeEnded (deps: Deps, ended: Ended[]): Promise<void> {
  if (ended.length === 0) return
  const rows = ended.map(({ session: s, reason, at }) => sql`(${s.id}::uuid, ${at}::timestamptz, ${reason}, ${s.totalRequests}::int, ${s.pagesVisited}::int, ${s.actionsPerformed}::int, ${new Date(s.lastSeenAt)}::timestamptz, ${Math.max(0, Math.round((at.getTime() - s.createdAt) / 1000))}::int)`)
  await sql`
    update sessions as s set
      is_active = false, ended_at = v.ended_at, end_reason = v.reason,
      total_requests = v.total_requests, pages_visited = v.pages_visited, actions_performed = v.actions_performed,
      last_seen_at = v.last_seen_at, session_duration_sec = v.duration
    from (values ${sql.join(rows)}) as v(id, ended_at, reason, total_requests, pages_visited, actions_performed, last_seen_at, duration)
    where s.id = v.id and s.ended_at is null`.execute(deps.db)
  // In one tick, auto-pipelined per server: the users' sets may sit on different cluster nodes.
  await Promise.all(ended.map(({ session }) => deps.redis.srem(userSessionsKey(session.userId), session.id)))
}

/** Ends one session now. Returns false when it had already ended. */
export async function endSession (deps: Deps, sessionId: string, reason: EndReason): Promise<boolean> {
  const now = deps.clock.now()
  const pairs = await sessionRedis(deps.redis).sessionEnd(sessionKey(sessionId), sessionExpiryIndex(sessionId), sessionId, now.getTime(), '0')
  const stored = pairs ? fromHash(sessionId, pairsToHash(pairs)) : null
  if (!stored) return false
  await writeEnded(deps, [{ session: stored, reason, at: now }])
  return true
}

/** Ends every session of a user (except `keep`); returns how many ended. */
export async function endUserSessions (deps: Deps, userId: string, reason: EndReason, keep?: string): Promise<number> {
  const ids = await deps.redis.smembers(userSessionsKey(userId))
  let ended = 0
  for (const id of ids) {
    if (id !== keep && await endSession(deps, id, reason)) ended++
  }
  return ended
}

/**
 * Finalises expired sessions in batches: removes them from Redis and writes endedAt,
 * endReason = expired and the duration to Postgres. Each bucket's expiry index is a sorted set,
 * so a batch costs O(log n + batch) per bucket and never blocks Redis (the buckets' reads go
 * out together); each session is ended by exactly one caller even when cleanups overlap.
 */
export async function finalizeExpiredSessions (deps: Deps, batchSize = 500): Promise<number> {
  let total = 0
  let buckets = USER_BUCKETS
  while (buckets.length > 0) {
    const now = deps.clock.now()
    const due = await Promise.all(buckets.map((bucket) => deps.redis.zrangebyscore(expiryIndex(bucket), '-inf', now.getTime(), 'LIMIT', 0, batchSize)))
    const ids = due.flat()
    for (let start = 0; start < ids.length; start += batchSize) {
      const ended: Ended[] = []
      for (const id of ids.slice(start, start + batchSize)) {
        const pairs = await sessionRedis(deps.redis).sessionEnd(sessionKey(id), sessionExpiryIndex(id), id, now.getTime(), '1')
        const stored = pairs ? fromHash(id, pairsToHash(pairs)) : null
        // Ended at the moment it expired, not when cleanup happened to run.
        if (stored) ended.push({ session: stored, reason: 'expired', at: new Date(expiresAt(stored)) })
      }
      await writeEnded(deps, ended)
      total += ended.length
    }
    // Another pass only over the buckets that had more than one batch due.
    buckets = buckets.filter((_, i) => due[i]!.length === batchSize)
  }
  return total
}
