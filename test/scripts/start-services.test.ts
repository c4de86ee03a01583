import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import { testConfig } from '../helpers/app.ts'
import { serverUrl } from '../helpers/database.ts'
import { WITHOUT_COVERAGE } from '../helpers/child-coverage.ts'
import { freePort, withDatabase } from '../../scripts/lib/local-services.ts'
import { checkRedis, ensureDatabase, redactUrl, ServiceError } from '../../scripts/lib/service-checks.ts'

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
  const run = (env: Record<string, string>) => new Promise<{ code: number | null, output: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      env: { ...process.env, ...WITHOUT_COVERAGE, NODE_ENV: 'development', LOG_LEVEL: 'warn', DATA_DIR: config.dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.on('data', (chunk) => { output += chunk })
    child.stderr.on('data', (chunk) => { output += chunk })
    child.on('exit', (code) => resolve({ code, output }))
  })
  const noPostgres = await run({ DATABASE_URL: `postgres://bazaar:s3cret-pw@127.0.0.1:${port}/shop`, REDIS_URL: process.env.REDIS_URL! })
  t.equal(noPostgres.code, 1)
  t.match(noPostgres.output, `[start] Postgres at postgres://bazaar@127.0.0.1:${port}/shop did not answer (ECONNREFUSED).`)
  t.notMatch(noPostgres.output, 's3cret')
  t.notMatch(noPostgres.output, /\n\s+at /, 'no stack trace')

  const noRedis = await run({ DATABASE_URL: withDatabase(serverUrl(), 'postgres'), REDIS_URL: `redis://127.0.0.1:${port}` })
  t.equal(noRedis.code, 1)
  t.match(noRedis.output, `[start] Redis at redis://127.0.0.1:${port} did not answer (ECONNREFUSED).`)
})
