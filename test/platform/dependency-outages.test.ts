import t from 'tap'
import { createTestEnv, eventually } from '../helpers/app.ts'
import { startPrivateRedis } from '../helpers/redis-server.ts'
import { bearer, createUser, login } from '../helpers/auth.ts'
import { freePort } from '../../scripts/lib/local-services.ts'

// Whatever the route, a backing service that is down answers 503 DEPENDENCY_UNAVAILABLE (retry
// shortly), never 500: Redis stopped, Postgres refusing connections, Postgres's host not
// resolving (a managed database's DNS during a failover).

t.test('with Redis down, routes that need it answer 503 DEPENDENCY_UNAVAILABLE, never 500', async (t) => {
  const redis = await startPrivateRedis()
  t.teardown(() => redis.close())
  const env = await createTestEnv(t, { config: { redisUrl: redis.url } })
  const user = await createUser(env)
  const session = await login(env.app, user.email)

  await redis.stop()
  const calls = [
    { method: 'GET', url: '/auth/me', headers: bearer(session.accessToken) },
    { method: 'POST', url: '/auth/login', payload: { email: user.email, password: 'wrong password here' } },
    { method: 'POST', url: '/auth/otp/send', payload: { email: user.email } },
    { method: 'PATCH', url: '/users/me', headers: { ...bearer(session.accessToken), 'idempotency-key': 'k-1' }, payload: { name: 'New Name' } },
    { method: 'POST', url: '/auth/refresh', payload: { refreshToken: session.refreshToken } }
  ] as const
  for (const call of calls) {
    const res = await env.app.inject(call as never)
    t.not(res.statusCode, 500, `${call.method} ${call.url} is not a 500 (${res.statusCode} ${res.body.slice(0, 200)})`)
    if (res.statusCode >= 500) t.equal(res.json().code, 'DEPENDENCY_UNAVAILABLE', `${call.method} ${call.url}`)
  }
  // Redis back (empty, its script cache too): the custom commands work again without a restart.
  await redis.start()
  const wrong = await eventually(async () => {
    const res = await env.app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: 'wrong password here' } })
    return res.statusCode === 503 ? null : res
  }, 10000, 100)
  t.equal(wrong!.statusCode, 401, 'a wrong password counts (a Lua command) and answers 401 again')
  t.equal(wrong!.json().code, 'INVALID_CREDENTIALS')
})

t.test('with Postgres refusing connections, or its host not resolving, database routes answer 503', async (t) => {
  const port = await freePort()
  for (const databaseUrl of [`postgres://bazaar@127.0.0.1:${port}/nothing`, 'postgres://bazaar@db.bazaar-test.invalid:5432/nothing']) {
    const env = await createTestEnv(t, { config: { databaseUrl } })
    for (const url of ['/products?limit=5', '/health/ready', '/health/database']) {
      const res = await env.app.inject({ method: 'GET', url })
      t.equal(res.statusCode, 503, `${url} with ${databaseUrl}: ${res.body.slice(0, 200)}`)
      if (url === '/products?limit=5') t.equal(res.json().code, 'DEPENDENCY_UNAVAILABLE')
      t.notMatch(res.body, /invalid|ECONNREFUSED|ENOTFOUND|127\.0\.0\.1/, 'no driver text for anonymous callers')
    }
  }
})

t.test('the outage table: which failures are a backing service away (503) and which are bugs (500)', async (t) => {
  const { toProblem } = await import('../../src/platform/errors.ts')
  const { ReplyError } = await import('ioredis') as unknown as { ReplyError: new (message: string) => Error }
  const coded = (message: string, code: string) => Object.assign(new Error(message), { code })
  const outages: Array<[string, unknown]> = [
    ['pg: server shutting down', coded('terminating connection due to administrator command', '57P01')],
    ['pg: starting up', coded('the database system is starting up', '57P03')],
    ['pg: connection failure', coded('connection failure', '08006')],
    ['pg: too many clients', coded('sorry, too many clients already', '53300')],
    ['pg: ended mid-query', new Error('Connection terminated unexpectedly')],
    ['pg: unqueryable client', new Error('Client has encountered a connection error and is not queryable')],
    ['dual-stack connect refused (no message)', Object.assign(new AggregateError([], ''), { code: 'ECONNREFUSED' })],
    ['host does not resolve', coded('getaddrinfo ENOTFOUND db.internal', 'ENOTFOUND')],
    ['DNS temporarily failing', coded('getaddrinfo EAI_AGAIN db.internal', 'EAI_AGAIN')],
    ['host unreachable', coded('connect EHOSTUNREACH 10.0.0.5:5432', 'EHOSTUNREACH')],
    ['redis: offline', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['redis: loading its data after a restart', new ReplyError('LOADING Redis is loading the dataset in memory')],
    ['redis: failed over, connected to a replica', new ReplyError("READONLY You can't write against a read only replica.")],
    ['redis: replica lost its master', new ReplyError('MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to \'no\'.')]
  ]
  for (const [name, err] of outages) {
    const problem = toProblem(err, 'r-1')
    t.same([problem.status, problem.code], [503, 'DEPENDENCY_UNAVAILABLE'], name)
  }
  const bugs: Array<[string, unknown]> = [
    ['unique violation', coded('duplicate key value violates unique constraint', '23505')],
    ['a TypeError', new TypeError('x is not a function')],
    ['redis: wrong type', new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value')]
  ]
  for (const [name, err] of bugs) t.equal(toProblem(err, 'r-1').status, 500, name)
})
