import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import { testConfig } from '../helpers/app.ts'
import { serverUrl } from '../helpers/database.ts'
import { WITHOUT_COVERAGE } from '../helpers/child-coverage.ts'
import { freePort, withDatabase } from '../../scripts/lib/local-services.ts'
import { checkRedis, checkRedisCluster, ensureDatabase, redactUrl, ServiceError } from '../../scripts/lib/service-checks.ts'

// Issue 12, item 10: `npm start` creates the database DATABASE_URL names when it is missing
// (development), and when a service it is given fails, it says which, where (without the
// password) and what to do, in one line, instead of crashing later.

async function drop (name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: withDatabase(serverUrl(), 'postgres') })
  await admin.connect()
  await admin.query(`drop database if exists ${name} with (force)`)
  await admin.end()
}

const withPassword = (url: string, password: string): string => {
  const parsed = new URL(url)
  parsed.password = password
  return parsed.toString()
}

t.test('the database DATABASE_URL names is created when missing, and only then', async (t) => {
  const name = `bazaar_t_${process.env.BAZAAR_TEST_RUN ?? 'x'}_${randomBytes(5).toString('hex')}`
  t.teardown(() => drop(name))
  const url = withDatabase(serverUrl(), name)
  await t.rejects(ensureDatabase(url, false), { message: new RegExp(`^Postgres at .*/${name}: database "${name}" does not exist\\. Create it \\(createdb "${name}"\\); npm start does so itself in development\\.$`) },
    'without permission to create, the failure says what to do')
  t.equal(await ensureDatabase(url), true, 'created')
  t.equal(await ensureDatabase(url), false, 'there already')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.same((await client.query('select current_database() as db')).rows, [{ db: name }])
  await client.end()
})

t.test('a service that does not answer is named, with its URL but never its password', async (t) => {
  const port = await freePort()
  const pgUrl = `postgres://bazaar:s3cret-pw@127.0.0.1:${port}/shop`
  const pgError = await ensureDatabase(pgUrl).catch((err) => err)
  t.ok(pgError instanceof ServiceError)
  t.equal(pgError.message, `Postgres at postgres://bazaar@127.0.0.1:${port}/shop did not answer (ECONNREFUSED). ` +
    'Start it or correct DATABASE_URL; or unset DATABASE_URL, and npm start uses or starts a local Postgres.')

  const redisError = await checkRedis(`redis://:s3cret-pw@127.0.0.1:${port}`).catch((err) => err)
  t.ok(redisError instanceof ServiceError)
  t.match(redisError.message, new RegExp(`^Redis at redis://127\\.0\\.0\\.1:${port} did not answer \\(ECONNREFUSED\\)\\. Start it or correct REDIS_URL`))
  t.notMatch(redisError.message, 's3cret')
  t.equal(redactUrl(withPassword(serverUrl(), 'hunter2')).includes('hunter2'), false)
  t.equal(redactUrl('postgres://bazaar@db:5432/shop?password=hunter2&sslpassword=k3y&application_name=x'), 'postgres://bazaar@db:5432/shop?application_name=x', 'nor one given as a query parameter')
})

t.test('a database name with escapes is created under the name pg connects to', async (t) => {
  // pg decodes the path with decodeURI: %3F stays %3F, %20 becomes a space.
  const name = `bazaar_t_${randomBytes(4).toString('hex')}%3Fdev%20x`
  const created = decodeURI(name)
  t.teardown(() => drop(`"${created}"`))
  const url = withDatabase(serverUrl(), name)
  t.equal(await ensureDatabase(url), true, 'created')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.same((await client.query('select current_database() as db')).rows, [{ db: created }], 'the one pg connects to')
  await client.end()
})

t.test('npm start stops with that line when DATABASE_URL or REDIS_URL does not answer', async (t) => {
  const config = testConfig()
  const port = await freePort()
  // Only the services each case names: not a Redis Cluster or a replica of the runner's (a topology run has both).
  const { REDIS_CLUSTER_NODES: _cluster, DATABASE_READ_URL: _replica, ...inherited } = process.env
  const run = (env: Record<string, string>) => new Promise<{ code: number | null, output: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      env: { ...inherited, ...WITHOUT_COVERAGE, NODE_ENV: 'development', LOG_LEVEL: 'warn', DATA_DIR: config.dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    // One that runs instead of stopping fails here, not at the file's timeout. Ctrl-C, not a
    // kill: npm start then stops the API and the worker it runs in process groups of their own.
    const hung = setTimeout(() => child.kill('SIGINT'), 60000)
    child.on('exit', () => clearTimeout(hung))
    let output = ''
    child.stdout.on('data', (chunk) => { output += chunk })
    child.stderr.on('data', (chunk) => { output += chunk })
    child.on('exit', (code) => resolve({ code, output }))
  })
  const noPostgres = await run({ DATABASE_URL: `postgres://bazaar:s3cret-pw@127.0.0.1:${port}/shop`, REDIS_URL: testConfig().redisUrl })
  t.equal(noPostgres.code, 1)
  t.match(noPostgres.output, `[start] Postgres at postgres://bazaar@127.0.0.1:${port}/shop did not answer (ECONNREFUSED).`)
  t.notMatch(noPostgres.output, 's3cret')
  t.notMatch(noPostgres.output, /\n\s+at /, 'no stack trace')

  const noRedis = await run({ DATABASE_URL: withDatabase(serverUrl(), 'postgres'), REDIS_URL: `redis://127.0.0.1:${port}` })
  t.equal(noRedis.code, 1)
  t.match(noRedis.output, `[start] Redis at redis://127.0.0.1:${port} did not answer (ECONNREFUSED).`)

  // A Redis Cluster is the operator's: checked at REDIS_CLUSTER_NODES, never replaced by a local Redis.
  const noCluster = await run({ DATABASE_URL: withDatabase(serverUrl(), 'postgres'), REDIS_URL: 'redis://:s3cret-pw@127.0.0.1:6379', REDIS_CLUSTER_NODES: `127.0.0.1:${port}` })
  t.equal(noCluster.code, 1)
  t.match(noCluster.output, `[start] The Redis Cluster at 127.0.0.1:${port} did not answer`)
  t.match(noCluster.output, 'Start it or correct REDIS_CLUSTER_NODES; or unset REDIS_CLUSTER_NODES, and npm start uses or starts a local Redis.')
  t.notMatch(noCluster.output, 's3cret')
  t.notMatch(noCluster.output, /starting redis|using the Redis server/i, 'no local Redis stands in for it')
})

t.test('a Redis Cluster that does not answer is named with its seed nodes, never the password', async (t) => {
  const port = await freePort()
  const error = await checkRedisCluster([{ host: '127.0.0.1', port }], 'redis://:s3cret-pw@127.0.0.1:6379').catch((err) => err)
  t.ok(error instanceof ServiceError)
  t.match(error.message, new RegExp(`^The Redis Cluster at 127\\.0\\.0\\.1:${port} did not answer \\(`))
  t.notMatch(error.message, 's3cret')
  // A plain Redis (no cluster support) is not a cluster either.
  const plain = await checkRedisCluster([{ host: new URL(testConfig().redisUrl).hostname, port: Number(new URL(testConfig().redisUrl).port || 6379) }], testConfig().redisUrl).catch((err) => err)
  t.ok(plain instanceof ServiceError, 'a Redis without cluster mode is refused')
})
