import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { EndReason } from './schemas.ts'
import { fromHash, pairsToHash, sessionExpiryIndex, sessionKey, sessionRedis, userSessionsKey } from './store.ts'

// A session ends by logout, revocation, a security event or expiry: it leaves Redis in one
// atomic step (so only one caller ends it) and its final counters, reason and duration are
// written to Postgres.

/** What Postgres keeps of an ended session (times in ms since the epoch). */
export interface EndedRow {
  id: string
  reason: EndReason
  endedAt: number
  createdAt: number
  lastSeenAt: number
  totalRequests: number
  pagesVisited: number
  actionsPerformed: number
}

/**
 * Writes ended sessions in one statement whatever their number: arrays bound as parameters
 * (unnest), so the text never changes and the statement is prepared once per connection.
 * Idempotent (a row already ended is left alone); returns how many rows this call ended.
 */
export async function writeEnded (deps: Pick<Deps, 'db'>, rows: EndedRow[]): Promise<number> {
  if (rows.length === 0) return 0
  const result = await sql`
    update sessions as s set
      is_active = false, ended_at = to_timestamp(v.ended_ms / 1000.0), end_reason = v.reason,
      total_requests = v.total_requests, pages_visited = v.pages_visited, actions_performed = v.actions_performed,
      last_seen_at = to_timestamp(v.last_seen_ms / 1000.0),
      session_duration_sec = greatest(0, round((v.ended_ms - v.created_ms) / 1000.0))::int
    from unnest(${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.reason)}::text[], ${rows.map((r) => r.endedAt)}::float8[],
      ${rows.map((r) => r.createdAt)}::float8[], ${rows.map((r) => r.lastSeenAt)}::float8[], ${rows.map((r) => r.totalRequests)}::int[],
      ${rows.map((r) => r.pagesVisited)}::int[], ${rows.map((r) => r.actionsPerformed)}::int[])
      as v(id, reason, ended_ms, created_ms, last_seen_ms, total_requests, pages_visited, actions_performed)
    where s.id = v.id and s.ended_at is null`.execute(deps.db)
  return Number(result.numAffectedRows ?? 0)
}

/** Ends one session now. Returns false when it had already ended. */
export async function endSession (deps: Deps, sessionId: string, reason: EndReason): Promise<boolean> {
  const now = deps.clock.now().getTime()
  const pairs = await sessionRedis(deps.redis).sessionEnd(sessionKey(sessionId), sessionExpiryIndex(sessionId), sessionId)
  const s = pairs ? fromHash(sessionId, pairsToHash(pairs)) : null
  if (!s) return false
  await writeEnded(deps, [{ id: s.id, reason, endedAt: now, createdAt: s.createdAt, lastSeenAt: s.lastSeenAt, totalRequests: s.totalRequests, pagesVisited: s.pagesVisited, actionsPerformed: s.actionsPerformed }])
  await deps.redis.srem(userSessionsKey(s.userId), s.id)
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
