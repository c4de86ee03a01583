import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { loadConfigOrExit } from '../src/config.ts'
import { migrateToLatest } from '../src/platform/migrator.ts'
import { childEnv, devSecretsEnv } from './lib/dev-env.ts'
import { provideLocalServices, type LocalServices } from './lib/local-services.ts'
import { redactUrl, ServiceError } from './lib/service-checks.ts'
import { listenAddressUrl, runningBanner } from './lib/start-banner.ts'

// npm start: the newcomer's command. Provides Postgres and Redis when none are configured (a
// Redis Cluster in REDIS_CLUSTER_NODES is checked and used as it is), applies pending
// migrations, runs the API and the worker as child processes, prints the URLs.
// Ctrl-C or SIGTERM stops the children, then whatever services this command started.

const say = (line: string) => process.stdout.write(`[start] ${line}\n`)
// JWT_SECRET and ENCRYPTION_KEY, unless the environment or .env sets them: the data folder's
// development secrets, the same for the API and the worker (and the one-off commands).
const secrets = devSecretsEnv()
const config = loadConfigOrExit(childEnv(secrets))

let services: LocalServices
try {
  services = await provideLocalServices({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrlSet ? config.databaseUrl : undefined,
    redisUrl: config.redisUrlSet ? config.redisUrl : undefined,
    redisClusterNodes: config.redisClusterNodes,
    // Given ones are checked first (a clear line, not a crash later), and in development the
    // database DATABASE_URL names is created when missing.
    checkGiven: true,
    createDatabase: config.env === 'development',
    log: { info: (msg) => say(msg) }
  })
} catch (err) {
  say(err instanceof ServiceError ? err.message : `could not provide Postgres and Redis: ${(err as Error).message}`)
  process.exit(1)
}

let children: ChildProcess[] = []
let stopping = false

async function stop (code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    say('stopping the API and the worker')
    await Promise.all(children.map((child) => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      const force = setTimeout(() => child.kill('SIGKILL'), 30000)
      child.once('exit', () => { clearTimeout(force); resolve() })
      child.kill('SIGTERM')
    })))
    await services.stop()
  }
  process.exit(code)
}

// A second Ctrl-C while stopping must not exit at once: that would leave the API and the worker
// (in process groups of their own) and the services this command started running behind it.
const onSignal = () => {
  if (stopping) return say('still stopping: the API and the worker finish what they hold, then the services stop')
  stop(0).catch(() => process.exit(1))
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)

try {
  const applied = await migrateToLatest(services.databaseUrl)
  say(applied.length ? applied.join('\n[start] ') : 'database schema is up to date')
} catch (err) {
  say(`migrations failed on ${redactUrl(services.databaseUrl)}: ${(err as Error).message}`)
  await stop(1)
}

// With a cluster (REDIS_CLUSTER_NODES), REDIS_URL stays as configured: only its credentials count.
const env = childEnv({ ...secrets, DATABASE_URL: services.databaseUrl, ...(config.redisClusterNodes ? {} : { REDIS_URL: services.redisUrl }) })
const entry = (file: string) => fileURLToPath(new URL(file, import.meta.url))
children = [entry('../src/server.ts'), entry('../src/worker.ts')].map((file) => {
  // Own process group: a terminal's Ctrl-C reaches only this process, which then stops the
  // children once each, in order.
  const child = spawn(process.execPath, ['--import', 'tsx', file], { env, stdio: 'inherit', detached: true })
  child.on('exit', (code, signal) => {
    if (stopping) return
    say(`${file.endsWith('server.ts') ? 'API' : 'worker'} exited (${signal ?? code}); stopping everything`)
    stop(code || 1).catch(() => process.exit(1))
  })
  return child
})

// Readiness is asked of the listener itself; the printed URLs are PUBLIC_URL's (start-banner.ts).
const listener = listenAddressUrl(config.host, config.port)
const isStopping = () => stopping
for (let i = 0; i < 600 && !isStopping(); i++) {
  const ready = await fetch(`${listener}/health/ready`).then((r) => r.ok, () => false)
  if (ready) {
    for (const line of runningBanner(config)) say(line)
    say('Press Ctrl-C to stop.')
    break
  }
  await new Promise((resolve) => setTimeout(resolve, 200))
}
