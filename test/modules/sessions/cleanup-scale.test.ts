import t from 'tap'
import { sql } from 'kysely'
import { createTestEnv, eventually, type TestEnv } from '../../helpers/app.ts'
import { bearer, createUser, login } from '../../helpers/auth.ts'
import { countRoundTrips } from '../../helpers/redis-round-trips.ts'
import { ManualClock } from '../../../src/platform/clock.ts'
import { masterNodes } from '../../../src/platform/redis.ts'
import { USER_BUCKETS } from '../../../src/platform/user-slot.ts'
import { finalizeExpiredSessions } from '../../../src/modules/sessions/public.ts'
import { createSessionCleanupProcessor } from '../../../src/jobs/session-cleanup.ts'
import { createBulkSessions } from '../../../scripts/lib/bulk-sessions.ts'

// Issue 15, item 2: cleanup at scale. Batches, not a round trip or a statement per session;
// a lock renewed while a run outlasts it; and still exactly once, racing requests and runs.

const IDLE_MS = 600_000

/** `users × perUser` sessions created 20 minutes ago: idle-expired 10 minutes ago. */
async function expiredSessions (env: TestEnv, clock: ManualClock, users: number, perUser: number) {
  return createBulkSessions(env.app.deps, { users, sessionsPerUser: perUser, createdAt: clock.now().getTime() - 20 * 60_000, idleMs: IDLE_MS, absoluteMs: 30 * 86_400_000, chunkUsers: 50 })
}

/** Entries left in the 256 expiry indexes. */
async function indexed (env: TestEnv): Promise<number> {
  const sizes = await Promise.all(USER_BUCKETS.map((b) => env.redis.zcard(`${env.config.redisPrefix}sess:exp:{u${b}}`)))
  return sizes.reduce((sum, n) => sum + n, 0)
}

const endedCount = async (env: TestEnv) => Number((await sql<{ n: string }>`select count(*) as n from sessions where end_reason = 'expired'`.execute(env.app.db)).rows[0]!.n)

t.test('600 expired sessions cost a round trip per round and one SQL statement per round, not one per session', async (t) => {
  const clock = new ManualClock()
  const statements: string[] = []
  const env = await createTestEnv(t, { clock, config: { sessionIdleTtl: IDLE_MS / 1000 }, onQuery: (text) => statements.push(text) })
  const { sessionIds } = await expiredSessions(env, clock, 100, 6)
  const live = await login(env.app, (await createUser(env)).email)
  const trips = countRoundTrips(env.app.redis)
  statements.length = 0

  // 256 buckets, 16 at a time: 16 rounds. No bucket has 50 sessions due, so none needs a second call.
  // A round's calls carry the journal removals of the writes committed so far; one more round
  // trip clears those of the last writes, after they commit.
  t.equal(await finalizeExpiredSessions(env.app.deps, { batchSize: 50, buckets: 16 }), 600)
  const nodes = masterNodes(env.app.redis).length
  t.ok(trips.count <= (16 + 1) * nodes, `${trips.count} Redis round trips for 600 sessions (16 rounds and the last removals, ${nodes} node(s))`, { trips: trips.trips.length })
  t.equal(await journaled(env), 0, 'the journals are empty')
  const updates = statements.filter((s) => /update "?sessions"?/i.test(s))
  t.equal(updates.length, statements.length, 'only the batched updates')
  t.ok(updates.length >= 1 && updates.length <= 16, `${updates.length} UPDATE statements for 600 sessions`)
  t.equal(new Set(updates).size, 1, 'one statement text whatever the batch size (arrays bound as parameters): prepared once')

  const rows = await env.app.db.selectFrom('sessions').select(['id', 'endReason', 'isActive', 'sessionDurationSec', 'endedAt']).execute()
  const ended = rows.filter((r) => r.endReason === 'expired')
  t.same(ended.map((r) => r.id).sort(), [...sessionIds].sort(), 'exactly the bulk sessions ended')
  t.ok(ended.every((r) => !r.isActive && r.sessionDurationSec === 600), 'inactive, ten idle minutes long')
  t.equal(rows.find((r) => r.id === live.sessionId)!.endedAt, null, 'the live session is untouched')
  t.equal(await indexed(env), 1, 'only the live session is left in the indexes')
  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(live.accessToken) })).statusCode, 200)
  t.equal((await env.redis.exists(`${env.config.redisPrefix}sess:{u${sessionIds[0]!.slice(-2)}}:${sessionIds[0]}`)), 0, 'an ended session\'s hash is gone')
})

t.test('a session used after its index entry was written is not ended, and is indexed again at its new expiry', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock, config: { sessionIdleTtl: IDLE_MS / 1000 } })
  const s = await login(env.app, (await createUser(env)).email)
  const index = `${env.config.redisPrefix}sess:exp:{u${s.sessionId.slice(-2)}}`
  // As if the index entry had been read just before the session's last request moved it.
  await env.redis.zadd(index, clock.now().getTime() - 1, s.sessionId)
  clock.advance(60_000)
  t.equal(await finalizeExpiredSessions(env.app.deps), 0, 'nothing ended')
  t.equal(Number(await env.redis.zscore(index, s.sessionId)), clock.now().getTime() - 60_000 + IDLE_MS, 'indexed at its real expiry')
  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(s.accessToken) })).statusCode, 200)
})

t.test('requests racing the cleanup: a session answered 200 stays live, one answered 401 was ended, none both', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock, config: { sessionIdleTtl: IDLE_MS / 1000 } })
  const users = await Promise.all(Array.from({ length: 12 }, () => createUser(env)))
  const sessions = []
  for (const user of users) for (let i = 0; i < 4; i++) sessions.push(await login(env.app, user.email))
  // The API's clock: a second before the sessions expire. The cleanup's: after. A request that
  // lands first extends its session past the cleanup's `now`.
  clock.advance(IDLE_MS - 1000)
  const cleanupClock = new ManualClock(new Date(clock.now().getTime() + 2000))
  const touched = sessions.filter((_, i) => i % 2 === 0)
  const [finalized, ...answers] = await Promise.all([
    finalizeExpiredSessions({ ...env.app.deps, clock: cleanupClock }, { batchSize: 2, buckets: 2 }),
    ...touched.map((s) => env.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(s.accessToken) }).then((r) => r.statusCode))
  ]) as number[]
  const rows = new Map((await env.app.db.selectFrom('sessions').select(['id', 'endReason']).execute()).map((r) => [r.id, r.endReason]))
  for (const [i, s] of touched.entries()) {
    const inRedis = await env.redis.exists(`${env.config.redisPrefix}sess:{u${s.sessionId.slice(-2)}}:${s.sessionId}`)
    if (answers[i] === 200) t.ok(inRedis === 1 && rows.get(s.sessionId) === null, 'answered 200: live in Redis, active in Postgres')
    else t.ok(answers[i] === 401 && inRedis === 0 && rows.get(s.sessionId) === 'expired', 'answered 401: ended')
  }
  const untouched = sessions.filter((_, i) => i % 2 === 1)
  t.ok(untouched.every((s) => rows.get(s.sessionId) === 'expired'), 'every untouched session ended')
  t.equal(finalized, await endedCount(env), 'the run counts what Postgres shows ended')
  const refused = answers.filter((a) => a === 401).length
  t.equal(finalized, untouched.length + refused, `ended: the ${untouched.length} untouched and the ${refused} answered 401 (${touched.length - refused} answered 200)`)
})

t.test('two runs at once, without the lock, end each of 1,000 sessions exactly once', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock, config: { sessionIdleTtl: IDLE_MS / 1000 } })
  await expiredSessions(env, clock, 200, 5)
  const [a, b] = await Promise.all([
    finalizeExpiredSessions(env.app.deps, { batchSize: 3, buckets: 8 }),
    finalizeExpiredSessions(env.app.deps, { batchSize: 3, buckets: 8 })
  ])
  t.ok(a > 0 && b > 0, `both runs did work (${a} + ${b})`)
  t.equal(a + b, 1000, 'no session was returned to both')
  t.equal(await endedCount(env), 1000)
  t.equal(await indexed(env), 0)
})

t.test('a Postgres write that fails mid-run loses no session: the next run replays the journal, each session ends once, Postgres and Redis agree', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock, config: { sessionIdleTtl: IDLE_MS / 1000 } })
  const { sessionIds } = await expiredSessions(env, clock, 100, 6)
  // Every ending Postgres records (ended_at set from null), to count them.
  await sql`create table endings (id uuid not null)`.execute(env.app.db)
  await sql`create function record_ending() returns trigger language plpgsql as $$ begin insert into endings values (new.id); return new; end $$`.execute(env.app.db)
  await sql`create trigger record_ending after update on sessions for each row when (old.ended_at is null and new.ended_at is not null) execute function record_ending()`.execute(env.app.db)
  // Postgres refuses the cleanup's writes: a crash, a failover or a timeout between the Lua script and the commit.
  await sql`create function refuse_write() returns trigger language plpgsql as $$ begin raise exception 'write refused'; end $$`.execute(env.app.db)
  await sql`create trigger refuse_write before update on sessions for each row execute function refuse_write()`.execute(env.app.db)
  await t.rejects(finalizeExpiredSessions(env.app.deps, { batchSize: 50, buckets: 16 }), /write refused/)
  const left = await indexed(env)
  t.ok(left < 600, `the failed run took ${600 - left} sessions out of Redis before it stopped`)
  await sql`drop trigger refuse_write on sessions`.execute(env.app.db)

  t.equal(await finalizeExpiredSessions(env.app.deps, { batchSize: 50, buckets: 16 }), 600, 'the next run ends all 600: the failed run\'s from its journal, the rest from the indexes')
  const rows = await env.app.db.selectFrom('sessions').select(['id', 'isActive', 'endReason', 'sessionDurationSec']).execute()
  t.same(rows.filter((r) => r.endReason === 'expired' && !r.isActive && r.sessionDurationSec === 600).map((r) => r.id).sort(), [...sessionIds].sort(),
    'every one ended in Postgres, at its expiry (ten idle minutes), not when the replay ran')
  const endings = (await sql<{ n: string, distinct: string }>`select count(*) as n, count(distinct id) as distinct from endings`.execute(env.app.db)).rows[0]!
  t.same([Number(endings.n), Number(endings.distinct)], [600, 600], 'each ended exactly once')
  t.equal(await indexed(env), 0, 'none left in the expiry indexes')
  t.equal(await journaled(env), 0, 'the journals are empty: every entry acknowledged after its write committed')
  t.equal(await finalizeExpiredSessions(env.app.deps, { batchSize: 50, buckets: 16 }), 0, 'a third run has nothing to do')
})

/** Entries left in the 256 end journals. */
async function journaled (env: TestEnv): Promise<number> {
  const sizes = await Promise.all(USER_BUCKETS.map((b) => env.redis.hlen(`${env.config.redisPrefix}sess:end:{u${b}}`)))
  return sizes.reduce((sum, n) => sum + n, 0)
}

/** Holds every session row locked until released, so a cleanup's write waits (a slow run). */
async function holdSessionRows (env: TestEnv): Promise<() => Promise<void>> {
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let locked!: () => void
  const isLocked = new Promise<void>((resolve) => { locked = resolve })
  const done = env.app.db.transaction().execute(async (trx) => {
    await sql`select id from sessions for update`.execute(trx)
    locked()
    await released
  })
  await isLocked
  return async () => { release(); await done }
}

const LOCK_KEY = 'lock:session-cleanup'

t.test('a run that outlasts its lock\'s TTL keeps the lock renewed: another worker\'s runs are skipped throughout', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock, config: { sessionIdleTtl: IDLE_MS / 1000 } })
  await expiredSessions(env, clock, 100, 3)
  const ttlMs = 300
  const options = { lock: { ttlMs }, finalize: { batchSize: 10, buckets: 16 } }
  const release = await holdSessionRows(env)
  const first = createSessionCleanupProcessor(env.app.deps, options)()
  const other = createSessionCleanupProcessor(env.app.deps, options)
  let owner: string | null = null
  await eventually(async () => { owner = await env.redis.get(env.config.redisPrefix + LOCK_KEY); return owner !== null })
  t.ok(owner, 'the first run holds the lock')
  // Six TTLs: without renewal the lock would lapse and the other worker would start a run.
  for (let i = 0; i < 6; i++) {
    await new Promise((resolve) => setTimeout(resolve, ttlMs))
    t.same(await other(), { finalized: 0, skipped: true }, `other worker skipped after ${(i + 1) * ttlMs} ms`)
    const pttl = await env.redis.pttl(env.config.redisPrefix + LOCK_KEY)
    t.ok(pttl > 0 && pttl <= ttlMs, `the lock lives ${pttl} ms: short, and renewed`)
    t.equal(await env.redis.get(env.config.redisPrefix + LOCK_KEY), owner, 'still the first run\'s')
  }
  await release()
  t.same(await first, { finalized: 300 }, 'the first run finishes the whole job')
  t.equal(await env.redis.exists(env.config.redisPrefix + LOCK_KEY), 0, 'and releases the lock')
  t.equal(await endedCount(env), 300)
})

t.test('a run whose lock was lost (it lapsed, another worker took it) stops after the round under way', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock, config: { sessionIdleTtl: IDLE_MS / 1000 } })
  await expiredSessions(env, clock, 200, 3)
  const release = await holdSessionRows(env)
  const first = createSessionCleanupProcessor(env.app.deps, { lock: { ttlMs: 300 }, finalize: { batchSize: 10, buckets: 16 } })()
  await new Promise((resolve) => setTimeout(resolve, 100))
  await env.redis.set(env.config.redisPrefix + LOCK_KEY, 'another-worker', 'PX', 10_000)
  await new Promise((resolve) => setTimeout(resolve, 400)) // past a renewal, which finds the lock another's
  await release()
  const result = await first
  t.equal(result.lockLost, true, 'the run reports it lost its lock')
  t.ok(result.finalized > 0 && result.finalized < 600, `it stopped part way (${result.finalized} of 600)`)
  t.equal(await endedCount(env), result.finalized, 'what it ended is written')
  t.equal(await indexed(env), 600 - result.finalized, 'the rest waits for the lock\'s owner')
  t.equal(await env.redis.get(env.config.redisPrefix + LOCK_KEY), 'another-worker', 'the other worker\'s lock is left alone')
})

t.test('a paced run ends no faster than its rate, and an abort while it waits stops it at once, every ended session written', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock, config: { sessionIdleTtl: IDLE_MS / 1000 } })
  await expiredSessions(env, clock, 100, 6)

  // 16 rounds of ~38 sessions; at 300 a second every round after the first waits its share.
  let started = performance.now()
  t.equal(await finalizeExpiredSessions(env.app.deps, { buckets: 16, rate: 300 }), 600)
  const seconds = (performance.now() - started) / 1000
  // The rounds are the hash buckets, uneven (one of 65 was seen): the bound allows a last round
  // of up to 150, far beyond any bucket of 600 sessions over 16, and far above the unpaced 0.05 s.
  t.ok(seconds >= (600 - 150) / 300, `600 sessions at 300/s took ${seconds.toFixed(2)} s (at least the 450 before the last round waited their turn)`)
  t.equal(await endedCount(env), 600)

  await expiredSessions(env, clock, 100, 6)
  const controller = new AbortController()
  started = performance.now()
  const run = finalizeExpiredSessions(env.app.deps, { buckets: 16, rate: 20, signal: controller.signal })
  setTimeout(() => controller.abort(), 300)
  const ended = await run
  // At 20 a second the 600 would take half a minute; the abort ends the wait it falls in.
  t.ok(ended > 0 && ended < 600, `${ended} of 600 ended before the abort`)
  t.ok(performance.now() - started < 10_000, 'the run stopped instead of waiting its pace out')
  t.equal(await endedCount(env), 600 + ended, 'Postgres has exactly the sessions the run reports')
  t.equal(await indexed(env), 600 - ended, 'the rest are still indexed, for the next run')
  t.equal(await journaled(env), 0, 'and nothing is left in the journals')
})
