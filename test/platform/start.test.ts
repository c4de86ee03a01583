import { spawn } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { testConfig } from '../helpers/app.ts'
import { createEmptyDatabase } from '../helpers/database.ts'
import { freePort, provideLocalServices } from '../../scripts/lib/local-services.ts'
import { WITHOUT_COVERAGE } from '../helpers/child-coverage.ts'

t.test('npm start migrates an empty database, runs API and worker, prints the URLs and stops on SIGINT', async (t) => {
  const database = await createEmptyDatabase()
  t.teardown(() => database.drop())
  const config = testConfig()
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    env: { ...process.env, ...WITHOUT_COVERAGE, NODE_ENV: 'development', PORT: String(port), LOG_LEVEL: 'warn', DATA_DIR: config.dataDir, DATABASE_URL: database.url, REDIS_PREFIX: config.redisPrefix },
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
  t.match(output, 'applied 20261121_01_outbox', 'pending migrations were applied')
  t.match(output, `API           http://127.0.0.1:${port}`)
  t.match(output, `API docs      http://127.0.0.1:${port}/docs`)
  t.match(output, /Mail outbox\s+\S+mail/)
  t.match(output, '/admin/queues')

  const ready = await fetch(`http://127.0.0.1:${port}/health/ready`)
  t.equal(ready.status, 200)

  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  const { rows } = await client.query("select count(*)::int as n from information_schema.tables where table_name = 'outbox'")
  await client.end()
  t.equal(rows[0].n, 1, 'the schema exists')

  child.kill('SIGINT')
  t.equal(await exited, 0, 'Ctrl-C stops everything and exits 0')
  t.match(output, 'stopping the API and the worker')
  const after = await fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.status, () => 'refused')
  t.equal(after, 'refused', 'the API is gone')
})

t.test('servers already answering are used as they are, nothing new is started', async (t) => {
  const config = testConfig()
  // Whatever npm test is using (default ports or project-local ones) is recorded as running.
  await mkdir(config.dataDir, { recursive: true })
  await writeFile(join(config.dataDir, 'services.json'), JSON.stringify({ databaseUrl: process.env.DATABASE_URL, redisUrl: process.env.REDIS_URL }))
  const services = await provideLocalServices({ dataDir: config.dataDir, database: 'postgres', log: { info: () => {} } })
  t.same(services.started, [], 'nothing is started')
  t.match(services.databaseUrl, /^postgres:\/\/.*\/postgres$/)
  t.match(services.redisUrl, /^redis:\/\//)
  await services.stop()
})
