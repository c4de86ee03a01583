import { setTimeout as sleep } from 'node:timers/promises'
import type { Deps } from '../../platform/deps.ts'
import { withScripts, type RedisClient, type RedisScript } from '../../platform/redis.ts'
import { USER_BUCKETS } from '../../platform/user-slot.ts'
import { writeEnded, type EndedRow } from './ending.ts'
import { endJournal, expiryIndex, sessionKeyHead, userKeyHead } from './store.ts'

// Finalising expired sessions at scale (issue 15): one script call ends a batch of one
// bucket's expired sessions, the calls for several buckets go out together (one round trip
// per Redis node), and the batches' rows reach Postgres in one statement per round.
// Crash-safe: a session the script takes out of Redis is also written to its bucket's journal
// (same slot, same script), removed only once its Postgres write has committed; each run's first
// call for a bucket replays what the journal still holds (the write is idempotent), so a write
// that fails or a worker that dies between the two leaves no session active in Postgres for good.

// KEYS[1]: a bucket's expiry index, KEYS[2]: its journal. ARGV: the index's name without the
// client's key prefix (the prefix is what KEYS[1] has in front of it), now, the batch size, the
// heads of the bucket's session and user-set key names, and 1 to replay the journal. Every key it
// touches carries the bucket's tag: one slot on a cluster.
// Each session is re-read and ended only if it has expired by `now`, so one touched since the
// index entry was written stays (and is re-indexed); a session is ended by one call only.
// Returns how many index entries it looked at, then an id and its journal entry per session:
// the journal's own entries when replaying, then those it ended.
const END_EXPIRED = `
local prefix = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1])
local now = tonumber(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = { #ids }
if ARGV[6] == '1' then
  local journal = redis.call('HGETALL', KEYS[2])
  for i = 1, #journal do table.insert(out, journal[i]) end
end
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
      local entry = table.concat({ tostring(exp), h[2], h[3], h[6] or '0', h[7] or '0', h[8] or '0' }, ':')
      redis.call('HSET', KEYS[2], id, entry)
      redis.call('DEL', key)
      redis.call('SREM', prefix .. ARGV[5] .. h[1] .. ':sess', id)
      table.insert(gone, id)
      table.insert(out, id)
      table.insert(out, entry)
    end
  end
end
if #gone > 0 then redis.call('ZREM', KEYS[1], unpack(gone)) end
return out`

export const expiryScripts: readonly RedisScript[] = [{ name: 'sessionsEndExpired', numberOfKeys: 2, lua: END_EXPIRED }]

type ExpiryRedis = RedisClient & {
  sessionsEndExpired: (index: string, journal: string, indexName: string, now: number, batchSize: number, sessionHead: string, userHead: string, replay: 0 | 1) => Promise<string[]>
}

function endedRows (reply: string[]): EndedRow[] {
  const rows: EndedRow[] = []
  for (let i = 1; i + 1 < reply.length; i += 2) {
    const [endedAt, createdAt, lastSeenAt, totalRequests, pagesVisited, actionsPerformed] = reply[i + 1]!.split(':').map(Number) as [number, number, number, number, number, number]
    // Ended at the moment it expired, not when cleanup happened to run.
    rows.push({ id: reply[i]!, reason: 'expired', endedAt, createdAt, lastSeenAt, totalRequests, pagesVisited, actionsPerformed })
  }
  return rows
}

const byId = (a: EndedRow, b: EndedRow): number => a.id < b.id ? -1 : a.id > b.id ? 1 : 0

/** Removes written sessions from their buckets' journals (commands sent together: one round trip per node). */
async function acknowledge (redis: RedisClient, written: Map<string, string[]>): Promise<void> {
  await Promise.all([...written].map(([bucket, ids]) => redis.hdel(endJournal(bucket), ...ids)))
}

export interface FinalizeOptions {
  /** Sessions one script call ends at most (Redis runs a call without interleaving others). */
  batchSize?: number
  /** Buckets worked on at once: batchSize × buckets bounds one round's Redis and SQL work. */
  buckets?: number
  /**
   * Sessions a second the run ends at most (0: as fast as Redis and Postgres allow). A run that
   * is ahead waits before its next round, which leaves the API its share of a small machine.
   */
  rate?: number
  /** Aborted (the run lost its lock): stop after the round under way. */
  signal?: AbortSignal
}

// 400 sessions a round: Redis runs a round's calls back to back (they arrive in one read), so
// this bounds how long a request may wait behind cleanup (a few ms); Postgres sets the pace.
export const CLEANUP_BATCH = 50
export const CLEANUP_BUCKETS = 8
// A million expired sessions in 40 s: well inside a minute, at a pace a 2-core machine serves
// its requests alongside (npm run bench:sessions; unpaced, the same run takes ~20 s and adds
// more to the API's p99).
export const CLEANUP_RATE = 25_000

/** Waits until `done` sessions are due at `rate` a second since `started` (or the run is aborted). */
async function pace (started: number, done: number, rate: number, signal?: AbortSignal): Promise<void> {
  if (rate <= 0) return
  // A duration on the process's monotonic clock, not a time of day: deps.clock may be a test's.
  const ahead = done / rate * 1000 - (performance.now() - started)
  if (ahead >= 1) await sleep(ahead, undefined, { signal }).catch(() => {})
}

/**
 * Finalises expired sessions: removes them from Redis and writes endedAt, endReason = expired,
 * the counters and the duration to Postgres. Works bucket by bucket, `buckets` at a time, each
 * bucket until a call finds less than a full batch due; a round's Postgres write overlaps the
 * next round's Redis calls. Never blocks Redis for more than one batch per call; each session
 * is ended once even when cleanups overlap or one fails part way (the journal, above).
 * Returns how many sessions it ended in Postgres.
 */
export async function finalizeExpiredSessions (deps: Pick<Deps, 'db' | 'redis' | 'clock'>, options: FinalizeOptions = {}): Promise<number> {
  const { batchSize = CLEANUP_BATCH, buckets = CLEANUP_BUCKETS, rate = CLEANUP_RATE, signal } = options
  const redis = withScripts<ExpiryRedis>(deps.redis, expiryScripts)
  const waiting = [...USER_BUCKETS]
  const replayed = new Set<string>()
  let active: string[] = []
  let total = 0
  // Written (committed) and still to remove from the journals: goes with the next round's calls.
  let written = new Map<string, string[]>()
  let writing: Promise<void> = Promise.resolve()
  let failed: { error: unknown } | null = null
  const started = performance.now()
  let taken = 0
  while (!signal?.aborted && failed === null) {
    while (active.length < buckets && waiting.length > 0) active.push(waiting.shift()!)
    if (active.length === 0) break
    await pace(started, taken, rate, signal)
    if (signal?.aborted) break
    const now = deps.clock.now().getTime()
    const acknowledging = written
    written = new Map()
    const [replies] = await Promise.all([
      Promise.all(active.map((bucket) => {
        const replay = replayed.has(bucket) ? 0 : 1
        replayed.add(bucket)
        return redis.sessionsEndExpired(expiryIndex(bucket), endJournal(bucket), expiryIndex(bucket), now, batchSize, sessionKeyHead(bucket), userKeyHead(bucket), replay)
      })),
      acknowledge(redis, acknowledging)
    ])
    const batches = active.map((bucket, i) => ({ bucket, rows: endedRows(replies[i]!) }))
    for (const batch of batches) taken += batch.rows.length
    // One lock order for every write: runs replaying each other's rows wait, never deadlock.
    const rows = batches.flatMap((b) => b.rows).sort(byId)
    // One write in flight: the previous round's, awaited before this round's starts.
    await writing
    writing = writeEnded(deps, rows).then((ended) => {
      total += ended
      for (const batch of batches) if (batch.rows.length > 0) written.set(batch.bucket, [...(written.get(batch.bucket) ?? []), ...batch.rows.map((r) => r.id)])
    }, (error: unknown) => { failed = { error } })
    // A bucket stays while its calls find full batches due.
    active = active.filter((_, i) => Number(replies[i]![0]) === batchSize)
  }
  await writing
  const acknowledged = acknowledge(redis, written)
  if (failed !== null) {
    // What did commit is acknowledged if Redis allows; the write's error is the one to report.
    await acknowledged.catch(() => {})
    throw (failed as { error: unknown }).error
  }
  await acknowledged
  return total
}
