import pg from 'pg'
import t from 'tap'
import { createTestEnv, eventually } from '../helpers/app.ts'
import { startPrivateRedis } from '../helpers/redis-server.ts'
import { createUser, login } from '../helpers/auth.ts'
import { buildApp } from '../../src/app.ts'

/** Whether `url` reaches Postgres through a pooler: the server then listens on another port than the URL names. */
async function viaPooler (url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ port: number | null }>('select inet_server_port() as port')
    return rows[0]!.port !== null && rows[0]!.port !== Number(new URL(url).port || 5432)
  } finally {
    await client.end()
  }
}

t.test('liveness, readiness and database figures', async (t) => {
  const { app } = await createTestEnv(t)

  const live = await app.inject({ method: 'GET', url: '/health/live' })
  t.equal(live.statusCode, 200)
  t.same(live.json(), { status: 'ok' })

  for (const url of ['/health/ready', '/health']) {
    const ready = await app.inject({ method: 'GET', url })
    t.equal(ready.statusCode, 200, url)
    t.equal(ready.json().checks.postgres.status, 'up')
    t.equal(ready.json().checks.redis.status, 'up')
  }

  const database = await app.inject({ method: 'GET', url: '/health/database' })
  t.equal(database.statusCode, 200)
  const body = database.json()
  t.equal(body.status, 'up')
  t.type(body.latencyMs, 'number')
  t.ok(body.pool.total >= 1, 'the pool has opened a connection')
  t.equal(body.pool.waiting, 0)
  t.equal(body.pool.max, 10)
})

t.test('readiness names Redis while it is unreachable and recovers without a restart', async (t) => {
  const redis = await startPrivateRedis()
  t.teardown(() => redis.close())
  const { app } = await createTestEnv(t, { config: { redisUrl: redis.url } })

  t.equal((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200)

  await redis.stop()
  const down = await app.inject({ method: 'GET', url: '/health/ready' })
  t.equal(down.statusCode, 503)
  t.match(down.headers['content-type'], /^application\/problem\+json/)
  const problem = down.json()
  t.equal(problem.code, 'NOT_READY')
  t.match(problem.detail, /redis/)
  t.notMatch(problem.detail, /postgres/)
  t.equal(problem.checks.redis.status, 'down')
  t.equal(problem.checks.postgres.status, 'up')
  t.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200, 'liveness is unaffected')

  await redis.start()
  const ready = await eventually(async () => {
    const res = await app.inject({ method: 'GET', url: '/health/ready' })
    return res.statusCode === 200 ? res : null
  }, 15000)
  t.equal(ready.statusCode, 200, 'ready again once Redis is back')
  t.match(ready.json(), { status: 'ok', checks: { postgres: { status: 'up' }, redis: { status: 'up' } } }, 'with both checks up')
})

t.test('readiness answers 503 while shutting down', async (t) => {
  const { app } = await createTestEnv(t)
  app.lifecycle.shuttingDown = true
  const res = await app.inject({ method: 'GET', url: '/health' })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'SHUTTING_DOWN')
})

t.test('anonymous probes say up or down without error text; platform admins get the details', async (t) => {
  const env = await createTestEnv(t)
  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  const customer = await login(env.app, (await createUser(env)).email)
  // The same Redis, secrets and sessions; a database that does not exist.
  const broken = await buildApp({ ...env.config, databaseUrl: env.config.databaseUrl.replace(/\/[^/]+$/, '/bazaar_no_such_database') })
  t.teardown(() => broken.close())

  for (const headers of [{}, customer.headers]) {
    const ready = await broken.inject({ method: 'GET', url: '/health/ready', headers })
    t.equal(ready.statusCode, 503)
    const problem = ready.json()
    t.equal(problem.code, 'NOT_READY')
    t.same(problem.checks.postgres, { status: 'down' }, 'only up/down for the failing check')
    t.equal(problem.checks.redis.status, 'up')
    t.notOk('error' in problem.checks.redis)
    t.notMatch(ready.body, /no_such_database|does not exist|ECONN|timeout/i, 'no raw error text')

    const database = await broken.inject({ method: 'GET', url: '/health/database', headers })
    t.equal(database.statusCode, 503)
    t.match(database.json(), { status: 'down', latencyMs: null })
    t.notOk('error' in database.json())
    t.notMatch(database.body, /no_such_database|does not exist/i, 'no raw error text')
  }

  // Through a pooler (the topology run's PgBouncer), the server's refusal is passed on, or, within
  // server_login_retry after one, the pooler holds the connection and the check's own timeout shows.
  const why = await viaPooler(env.config.databaseUrl) ? /no_such_database|^no answer within \d+ ms$/ : /no_such_database/
  const ready = await broken.inject({ method: 'GET', url: '/health/ready', headers: admin.headers })
  t.equal(ready.statusCode, 503)
  t.match(ready.json().checks.postgres, { status: 'down', error: why }, 'an admin sees why')
  const database = await broken.inject({ method: 'GET', url: '/health/database', headers: admin.headers })
  t.match(database.json(), { status: 'down', error: why })
})
