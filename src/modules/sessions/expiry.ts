import type { Deps } from '../../platform/deps.ts'
import { withScripts, type RedisClient, type RedisScript } from '../../platform/redis.ts'
import { USER_BUCKETS } from '../../platform/user-slot.ts'
import { writeEnded, type EndedRow } from './ending.ts'
import { expiryIndex, sessionKeyHead, userKeyHead } from './store.ts'

// Finalising expired sessions at scale (issue 15): one script call ends a batch of one
// bucket's expired sessions, the calls for several buckets go out together (one round trip
// per Redis node), and the batches' rows reach Postgres in one statement per round.

// KEYS[1]: a bucket's expiry index. ARGV: its name without the client's key prefix (the prefix
// is what KEYS[1] has in front of it), now, the batch size, and the heads of the bucket's session
// and user-set key names. Every key it touches carries the bucket's tag: one slot on a cluster.
// Each session is re-read and ended only if it has expired by `now`, so one touched since the
// index entry was written stays (and is re-indexed); a session is returned by one call only.
// Returns how many index entries it looked at, then 8 fields per ended session.
const END_EXPIRED = `
local prefix = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1])
local now = tonumber(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = { #ids }
local gone = {}
for _, id in ipairs(ids) do
  local key = prefix .. ARGV[4] .. id
  local h = redis.call('HMGET', key, 'uid', 'cr', 'ls', 'idle', 'abs', 'req', 'pv', 'ap')
  if not h[1] then
    table.insert(gone, id)
  else
    local exp = math.min(tonumber(h[3]) + tonumber(h[4]), tonumber(h[5]))
    if exp > now then
      redis.call('ZADD', KEYS[1], exp, id)
    else
      redis.call('DEL', key)
      redis.call('SREM', prefix .. ARGV[5] .. h[1] .. ':sess', id)
      table.insert(gone, id)
      table.insert(out, id)
      table.insert(out, tostring(exp))
      for i = 2, 3 do table.insert(out, h[i]) end
      for i = 6, 8 do table.insert(out, h[i] or '0') end
    end
  end
end
if #gone > 0 then redis.call('ZREM', KEYS[1], unpack(gone)) end
return out`

export const expiryScripts: readonly RedisScript[] = [{ name: 'sessionsEndExpired', numberOfKeys: 1, lua: END_EXPIRED }]

type ExpiryRedis = RedisClient & {
  sessionsEndExpired: (index: string, indexName: string, now: number, batchSize: number, sessionHead: string, userHead: string) => Promise<string[]>
}

const FIELDS = 7

function endedRows (reply: string[]): EndedRow[] {
  const rows: EndedRow[] = []
  for (let i = 1; i + FIELDS - 1 < reply.length; i += FIELDS) {
    rows.push({
      id: reply[i]!,
      reason: 'expired',
      // Ended at the moment it expired, not when cleanup happened to run.
      endedAt: Number(reply[i + 1]),
      createdAt: Number(reply[i + 2]),
      lastSeenAt: Number(reply[i + 3]),
      totalRequests: Number(reply[i + 4]),
      pagesVisited: Number(reply[i + 5]),
      actionsPerformed: Number(reply[i + 6])
    })
  }
  return rows
}

export interface FinalizeOptions {
  /** Sessions one script call ends at most (Redis runs a call without interleaving others). */
  batchSize?: number
  /** Buckets worked on at once: batchSize × buckets bounds one round's Redis and SQL work. */
  buckets?: number
  /** Aborted (the run lost its lock): stop after the round under way. */
  signal?: AbortSignal
}

// 400 sessions a round: Redis runs a round's calls back to back (they arrive in one read), so
// this bounds how long a request may wait behind cleanup (a few ms); Postgres sets the pace.
export const CLEANUP_BATCH = 50
export const CLEANUP_BUCKETS = 8

/**
 * Finalises expired sessions: removes them from Redis and writes endedAt, endReason = expired,
 * the counters and the duration to Postgres. Works bucket by bucket, `buckets` at a time, each
 * bucket until a call finds less than a full batch due; a round's Postgres write overlaps the
 * next round's Redis calls. Never blocks Redis for more than one batch per call; each session
 * is ended by exactly one caller even when cleanups overlap. Returns how many it ended.
 */
export async function finalizeExpiredSessions (deps: Pick<Deps, 'db' | 'redis' | 'clock'>, options: FinalizeOptions = {}): Promise<number> {
  const { batchSize = CLEANUP_BATCH, buckets = CLEANUP_BUCKETS, signal } = options
  const redis = withScripts<ExpiryRedis>(deps.redis, expiryScripts)
  const waiting = [...USER_BUCKETS]
  let active: string[] = []
  let total = 0
  let writing: Promise<void> = Promise.resolve()
  let failed: { error: unknown } | null = null
  while (!signal?.aborted && failed === null) {
    while (active.length < buckets && waiting.length > 0) active.push(waiting.shift()!)
    if (active.length === 0) break
    const now = deps.clock.now().getTime()
    const replies = await Promise.all(active.map((bucket) =>
      redis.sessionsEndExpired(expiryIndex(bucket), expiryIndex(bucket), now, batchSize, sessionKeyHead(bucket), userKeyHead(bucket))))
    const rows = replies.flatMap(endedRows)
    total += rows.length
    // One write in flight: the previous round's, awaited before this round's starts.
    await writing
    writing = writeEnded(deps, rows).catch((error: unknown) => { failed = { error } })
    // A bucket stays while its calls find full batches due.
    active = active.filter((_, i) => Number(replies[i]![0]) === batchSize)
  }
  await writing
  if (failed !== null) throw (failed as { error: unknown }).error
  return total
}
