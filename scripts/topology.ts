import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { migrateToLatest } from '../src/platform/migrator.ts'
import { startTopology } from './lib/topology.ts'
import { suiteFiles, topologyFiles } from './lib/topology-suite.ts'
import { dropRunDatabases, prepareTemplate } from './lib/test-databases.ts'

// `npm run topology`: starts the scale-out topology (scripts/lib/topology.ts) and prints its
// addresses until Ctrl-C.
// `npm run test:topology` (this script with `test`): runs the multi-process tests
// (test/topology/*, each starting a topology of its own), then the whole default suite against
// one topology's engines: Redis Cluster, PgBouncer in front of the primary, the replica, s3rver.

const log = { info: (msg: string) => console.log(`topology: ${msg}`) }
// With `suite` or `own`, test files named after the mode run instead of the whole half (`npm run topology suite -- test/x.test.ts`).
const named = ['suite', 'own'].includes(process.argv[2] ?? '') ? process.argv.slice(3).filter((arg) => arg.endsWith('.test.ts')) : []
const tapArgs = process.argv.slice(3).filter((arg) => !arg.endsWith('.test.ts'))

function tap (args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(process.execPath, ['node_modules/tap/dist/esm/run.mjs', ...args], { stdio: 'inherit', env })
  const forward = (signal: NodeJS.Signals) => child.kill(signal)
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  return new Promise((resolve) => child.on('exit', (code, signal) => {
    process.off('SIGINT', forward)
    process.off('SIGTERM', forward)
    resolve(code ?? (signal ? 1 : 0))
  }))
}

/** The default suite with every engine of a topology (no API or worker process: each test file builds its own app). */
async function fullSuite (): Promise<number> {
  const topology = await startTopology({ apis: 0, workers: 0, log })
  const runId = randomBytes(3).toString('hex')
  // The template is built on the primary itself (CREATE DATABASE ... TEMPLATE needs no one else
  // connected to it); each test file's clone is then reached through PgBouncer, and on the replica.
  const admin = new pg.Client({ connectionString: topology.primaryUrl('postgres') })
  await admin.connect()
  try {
    const template = await prepareTemplate(admin, topology.primaryUrl('postgres'), 'bazaar_tpl_topology', migrateToLatest)
    // Commits wait for the replica (synchronous_commit = remote_apply): the clone is there too once this returns.
    // The engines' settings only: the rest (secrets, TRUST_PROXY, METRICS_TOKEN...) stays each test's own.
    const engines = ['DATABASE_PREPARED_STATEMENTS', 'REDIS_CLUSTER_NODES', 'S3_BUCKET', 'S3_ENDPOINT', 'S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_FORCE_PATH_STYLE']
    const env = {
      ...process.env,
      ...Object.fromEntries(engines.map((name) => [name, topology.env[name]])),
      NODE_ENV: 'test',
      DATABASE_URL: topology.pooledUrl('postgres'),
      DATABASE_READ_URL: topology.replicaUrl('postgres'),
      BAZAAR_TEST_TEMPLATE: template,
      BAZAAR_TEST_RUN: runId
    }
    const files = named.length ? named : suiteFiles()
    log.info(`the default suite on the topology's engines: ${files.length} files (the files left out, and why: scripts/lib/topology-suite.ts)`)
    return await tap(['--disable-coverage', ...tapArgs, ...files], env)
  } finally {
    await dropRunDatabases(admin, runId)
    await admin.end()
    await topology.stop()
  }
}

/** The multi-process tests: each starts 9+ processes, so one file at a time on a small machine. */
function ownTests (): Promise<number> {
  return tap(['--disable-coverage', '--jobs=1', '--timeout=900', ...tapArgs, ...(named.length ? named : topologyFiles())], { ...process.env, NODE_ENV: 'test' })
}

async function test (): Promise<number> {
  const started = Date.now()
  const own = await ownTests()
  log.info(`multi-process tests: ${own === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s`)
  const suiteStarted = Date.now()
  const suite = await fullSuite()
  log.info(`default suite on the topology: ${suite === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - suiteStarted) / 1000)} s`)
  log.info(`total ${Math.round((Date.now() - started) / 1000)} s`)
  return own || suite
}

async function serve (): Promise<void> {
  const topology = await startTopology({ log })
  const lines = [
    ...topology.apis.map((api) => `${api.name}: ${api.url} (pid ${api.pid})`),
    ...topology.workers.map((w) => `${w.name}: metrics ${w.url}/metrics (pid ${w.pid}; Authorization: Bearer ${topology.env.METRICS_TOKEN})`),
    `Redis Cluster: ${topology.redisNodes.join(', ')}`,
    `Postgres primary: ${topology.primaryUrl()}`,
    `PgBouncer: ${topology.pooledUrl()}`,
    `replica: ${topology.replicaUrl()}`,
    `S3 (s3rver): ${topology.s3.config.endpoint}, bucket ${topology.s3.config.bucket}`,
    `SMTP catcher: ${topology.mail.url}`,
    `logs: ${topology.dir}/logs`
  ]
  console.log(`\n${lines.join('\n')}\n\nCtrl-C stops everything.`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  console.log(`stopping (${topology.mail.messages.length} emails were caught)`)
  await topology.stop()
}

/**
 * Points TMPDIR (this process's and the test processes') at a folder of the run's own, removed
 * when it ends: the scratch folders test files leave behind go with it.
 */
async function inOwnTmpdir (run: () => Promise<number>): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bazaar-topology-run-'))
  // Test engines run as the postgres user when started as root: it must reach folders inside.
  chmodSync(dir, 0o755)
  process.env.TMPDIR = dir
  try {
    return await run()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const mode = process.argv[2]
if (mode === 'test') process.exit(await inOwnTmpdir(test))
// Each half alone: `suite` (the default suite on the engines), `own` (test/topology only).
else if (mode === 'suite') process.exit(await inOwnTmpdir(fullSuite))
else if (mode === 'own') process.exit(await inOwnTmpdir(ownTests))
else await serve()
