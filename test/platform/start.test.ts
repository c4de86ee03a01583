import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { testConfig } from '../helpers/app.ts'
import { serverUrl } from '../helpers/database.ts'
import { freePort, provideLocalServices, withDatabase } from '../../scripts/lib/local-services.ts'
import { WITHOUT_COVERAGE } from '../helpers/child-coverage.ts'

async function dropDatabase (name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: withDatabase(serverUrl(), 'postgres') })
  await admin.connect()
  await admin.query(`drop database if exists ${name} with (force)`)
  await admin.end()
}

t.test('npm start creates and migrates the missing database, runs API and worker, prints the URLs and stops on SIGINT', async (t) => {
  // DATABASE_URL names a database that does not exist yet: npm start creates it (development).
  const name = `bazaar_t_${process.env.BAZAAR_TEST_RUN ?? 'x'}_${randomBytes(5).toString('hex')}`
  const database = { url: withDatabase(serverUrl(), name) }
  t.teardown(() => dropDatabase(name))
  const config = testConfig()
  const port = await freePort()
  const replica = process.env.DATABASE_READ_URL ? { DATABASE_READ_URL: withDatabase(process.env.DATABASE_READ_URL, name) } : {}
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    // On a topology run (PgBouncer, a replica, a Redis Cluster in the environment) the same
    // database on the replica, and the cluster: npm start provides neither.
    env: { ...process.env, ...WITHOUT_COVERAGE, NODE_ENV: 'development', PORT: String(port), LOG_LEVEL: 'warn', DATA_DIR: config.dataDir, DATABASE_URL: database.url, REDIS_PREFIX: config.redisPrefix, ...replica },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk) => { output += chunk })
  child.stderr.on('data', (chunk) => { output += chunk })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))

  const deadline = Date.now() + 60000
  while (!output.includes('Press Ctrl-C to stop.') && Date.now() < deadline && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.match(output, `created the database ${database.url.replace(/:[^:@/]*@/, '@')}`, 'the missing database was created (no password printed)')
  t.match(output, 'applied 20261121_01_outbox', 'pending migrations were applied')
  // One origin: the printed URLs are PUBLIC_URL's (localhost and the PORT given), which is
  // Swagger's server too, so "Try it out" on the printed /docs is a same-origin call.
  const api = `http://localhost:${port}`
  t.match(output, `API           ${api}\n`)
  t.match(output, `API docs      ${api}/docs\n`)
  t.match(output, `Mail outbox   ${api}/dev/mail (files in ${config.dataDir}/mail)`)
  t.match(output, `Admin         ${api}/admin `)

  const ready = await fetch(`${api}/health/ready`)
  t.equal(ready.status, 200)
  const docs = await (await fetch(`${api}/docs/json`)).json() as { servers: Array<{ url: string }> }
  t.same(docs.servers, [{ url: api }], 'Swagger\'s server is the printed origin')
  const mail = await fetch(`${api}/dev/mail`)
  t.equal(mail.status, 200, 'the printed mail page answers')
  t.match(await mail.text(), /No messages in .*mail yet/)

  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  const { rows } = await client.query("select count(*)::int as n from information_schema.tables where table_name = 'outbox'")
  await client.end()
  t.equal(rows[0].n, 1, 'the schema exists')

  child.kill('SIGINT')
  t.equal(await exited, 0, 'Ctrl-C stops everything and exits 0')
  t.match(output, 'stopping the API and the worker')
  const after = await fetch(`${api}/health/live`).then((r) => r.status, () => 'refused')
  t.equal(after, 'refused', 'the API is gone')
})

t.test('servers already answering are used as they are, nothing new is started', async (t) => {
  const config = testConfig()
  // Whatever npm test is using (default ports or project-local ones) is recorded as running.
  await mkdir(config.dataDir, { recursive: true })
  await writeFile(join(config.dataDir, 'services.json'), JSON.stringify({ databaseUrl: process.env.DATABASE_URL, redisUrl: process.env.REDIS_URL }))
  // As npm start asks: a Redis Cluster in the configuration is used as it is.
  const services = await provideLocalServices({ dataDir: config.dataDir, database: 'postgres', redisClusterNodes: config.redisClusterNodes, log: { info: () => {} } })
  t.same(services.started, [], 'nothing is started')
  t.match(services.databaseUrl, /^postgres:\/\/.*\/postgres$/)
  t.match(services.redisUrl, /^redis:\/\//)
  await services.stop()
})
