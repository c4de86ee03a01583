import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { bearer, createUser, login } from '../../helpers/auth.ts'
import { ManualClock } from '../../../src/platform/clock.ts'
import { finalizeExpiredSessions } from '../../../src/modules/sessions/public.ts'
import { createSessionCleanupProcessor } from '../../../src/jobs/session-cleanup.ts'
import { userBucket } from '../../../src/platform/user-slot.ts'

t.test('the cleanup job ends idle-expired sessions with their duration and leaves live ones', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock, config: { sessionIdleTtl: 600 } })
  const user = await createUser(env)
  const idle = await login(env.app, user.email)
  clock.advance(5 * 60_000)
  const busy = await login(env.app, user.email)
  clock.advance(4 * 60_000)
  await env.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(busy.accessToken) })
  clock.advance(2 * 60_000) // idle: 11 min without activity; busy: 2 min

  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(idle.accessToken) })).statusCode, 401, 'an idle session is refused at once')
  const finalized = await createSessionCleanupProcessor(env.app.deps)()
  t.same(finalized, { finalized: 1 })

  const rows = await env.app.db.selectFrom('sessions').selectAll().orderBy('createdAt').execute()
  t.equal(rows[0]!.id, idle.sessionId)
  t.equal(rows[0]!.endReason, 'expired')
  t.equal(rows[0]!.isActive, false)
  t.equal(rows[0]!.sessionDurationSec, 600, 'ended when it expired: ten idle minutes after its last request')
  t.equal(rows[1]!.endedAt, null, 'the busy one is untouched')
  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(busy.accessToken) })).statusCode, 200)
  // Keys tagged with the user's bucket, which the session id carries in its last two digits.
  t.equal(idle.sessionId.slice(-2), userBucket(user.id))
  t.equal(await env.redis.exists(`${env.config.redisPrefix}sess:{u${userBucket(user.id)}}:${idle.sessionId}`), 0, 'its Redis keys are gone')
  const remaining = await env.redis.smembers(`${env.config.redisPrefix}user:{u${userBucket(user.id)}}:${user.id}:sess`)
  t.same(remaining, [busy.sessionId], 'the user\'s set keeps only the live session')
})

t.test('sessions end at the absolute limit however active they are', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock, config: { sessionIdleTtl: 600, refreshTokenTtl: 1800 } })
  const user = await createUser(env)
  const s = await login(env.app, user.email)
  for (let i = 0; i < 3; i++) {
    clock.advance(9 * 60_000)
    t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(s.accessToken) })).statusCode, 200)
  }
  clock.advance(4 * 60_000)
  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(s.accessToken) })).statusCode, 401, 'past 30 minutes from creation')
  t.equal(await finalizeExpiredSessions(env.app.deps), 1)
  const row = await env.app.db.selectFrom('sessions').selectAll().executeTakeFirstOrThrow()
  t.equal(row.sessionDurationSec, 1800)
  t.equal(row.totalRequests, 4, 'the counters are written with it')
})

t.test('two cleanups at once finalise each session exactly once', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock, config: { sessionIdleTtl: 60 } })
  const users = await Promise.all(Array.from({ length: 4 }, () => createUser(env)))
  for (const user of users) for (let i = 0; i < 10; i++) await login(env.app, user.email)
  clock.advance(120_000)

  // Without the job's lock: the per-session atomic end alone keeps the count right.
  const [a, b] = await Promise.all([finalizeExpiredSessions(env.app.deps, { batchSize: 7 }), finalizeExpiredSessions(env.app.deps, { batchSize: 7 })])
  t.equal(a + b, 40, 'forty sessions ended between the two runs, none twice')
  const rows = await env.app.db.selectFrom('sessions').select(['endReason']).execute()
  t.ok(rows.every((r) => r.endReason === 'expired'))

  // With the job's lock, a second concurrent run does nothing at all.
  for (const user of users) await login(env.app, user.email)
  clock.advance(120_000)
  const job = createSessionCleanupProcessor(env.app.deps)
  const results = await Promise.all([job(), job()])
  t.equal(results.reduce((sum, r) => sum + r.finalized, 0), 4)
  t.equal(results.filter((r) => r.skipped).length, 1, 'one run skipped: the other held the lock')
})

t.test('the worker schedules the cleanup', async (t) => {
  const env = await createTestEnv(t, { worker: true })
  const schedulers = await env.app.queues['session-cleanup'].getJobSchedulers()
  t.same(schedulers.map((s) => [s.key, s.every]), [['session-cleanup', 60_000]], 'every minute')
})
