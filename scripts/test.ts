import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { loadConfigOrExit } from '../src/config.ts'
import { childEnv } from './lib/dev-env.ts'
import { provideLocalServices, withDatabase } from './lib/local-services.ts'
import { dropRunDatabases, prepareTemplate } from './lib/test-databases.ts'
import { checkRedisCluster } from './lib/service-checks.ts'
import { clusterExclusions } from '../test/cluster-exclusions.ts'
import { MIGRATIONS_DIR, migrateToLatest } from '../src/platform/migrator.ts'

// npm test: brings up Postgres and Redis when none are configured (as `npm start` does),
// prepares a migrated template database that every test file clones, runs tap, and stops
// whatever it started. Arguments go to tap (`npm test -- test/platform/health.test.ts`).
// With REDIS_CLUSTER_NODES, every test file's clients use that Redis Cluster instead (the local
// Redis is still provided for the few tests that start from REDIS_URL), minus the files
// test/cluster-exclusions.ts lists.

const config = loadConfigOrExit(childEnv({ NODE_ENV: 'test' }))
const services = await provideLocalServices({
  dataDir: config.dataDir,
  databaseUrl: config.databaseUrlSet ? config.databaseUrl : undefined,
  redisUrl: config.redisUrlSet ? config.redisUrl : undefined
})

let clusterArgs: string[] = []
if (config.redisClusterNodes) {
  await checkRedisCluster(config.redisClusterNodes, config.redisUrl)
  console.error(`[services] using the Redis Cluster at ${config.redisClusterNodes.map((n) => `${n.host}:${n.port}`).join(',')} (${clusterExclusions.length} test files left out: test/cluster-exclusions.ts)`)
  // Given on the command line, tap's exclude list replaces .taprc's: its entries come again.
  clusterArgs = ['test/browser/**', 'test/topology/**', ...clusterExclusions.map((e) => e.file)].map((file) => `--exclude=${file}`)
}

/** The template is named after the migrations' contents, so a changed migration gets a fresh one. */
function templateName (): string {
  const hash = createHash('sha256')
  for (const file of readdirSync(MIGRATIONS_DIR).sort()) hash.update(file).update(readFileSync(join(MIGRATIONS_DIR, file)))
  return `bazaar_tpl_${hash.digest('hex').slice(0, 16)}`
}

/**
 * A long run's failure scrolls out of sight (CI keeps only the tail), so the failed assertions are
 * printed again at the end, with their context, from the results tap keeps per file.
 */
function reprintFailures (since: number, dir = '.tap/test-results'): void {
  let files: string[]
  try { files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tap')) } catch { return }
  for (const file of files.sort()) {
    // Results of files this run did not run stay from earlier runs: only this run's count.
    if (statSync(join(dir, file)).mtimeMs < since) continue
    const lines = readFileSync(join(dir, file), 'utf8').split('\n')
    const failed = lines.flatMap((line, i) => (/^\s*not ok /.test(line) ? [i] : []))
    if (failed.length === 0) continue
    console.error(`\n# FAILED in ${file}:`)
    for (const i of failed.slice(0, 5)) console.error(lines.slice(Math.max(0, i - 3), i + 25).join('\n'))
  }
}

const runId = randomBytes(3).toString('hex')
const admin = new pg.Client({ connectionString: withDatabase(services.databaseUrl, 'postgres') })
await admin.connect()
let exitCode = 1
try {
  const template = await prepareTemplate(admin, services.databaseUrl, templateName(), migrateToLatest)
  const started = Date.now()
  const tap = spawn(process.execPath, ['node_modules/tap/dist/esm/run.mjs', ...clusterArgs, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: childEnv({
      NODE_ENV: 'test',
      DATABASE_URL: services.databaseUrl,
      REDIS_URL: services.redisUrl,
      BAZAAR_TEST_TEMPLATE: template,
      BAZAAR_TEST_RUN: runId
    })
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => tap.kill(signal))
  exitCode = await new Promise<number>((resolve) => tap.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))))
  if (exitCode !== 0) reprintFailures(started)
} finally {
  // Test files drop their own databases; these are the ones a crashed file left behind.
  await dropRunDatabases(admin, runId)
  await admin.end()
  await services.stop()
}
process.exit(exitCode)
