import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import type { Config } from '../../src/config.ts'
import { freePort } from '../../scripts/lib/local-services.ts'
import { WITHOUT_COVERAGE } from './child-coverage.ts'

// Real API and worker processes (`node --import tsx src/server.ts`, `src/worker.ts`) on a test
// file's database and prefixes, for what only a process can show: that it stays alive, how it
// drains on SIGTERM, what a crash leaves behind.

export interface SpawnedProcess {
  child: ChildProcess
  /** The API's port (0 for a worker). */
  port: number
  url: string
  /** Everything written to stdout and stderr so far. */
  output: () => string
  exited: Promise<number | null>
  alive: () => boolean
  /** SIGKILL, then wait for the exit. */
  kill: () => Promise<void>
}

/** The environment a child process needs to share a test's database, Redis prefixes and secrets. */
export function processEnv (config: Config, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  // The cluster the config names (none when the test gave its own Redis), not the runner's.
  const { REDIS_CLUSTER_NODES: _runner, DATABASE_READ_URL: _runnerReplica, ...inherited } = process.env
  const cluster = config.redisClusterNodes && overrides.REDIS_URL === undefined ? config.redisClusterNodes : undefined
  return {
    ...inherited,
    ...WITHOUT_COVERAGE,
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATA_DIR: config.dataDir,
    DATABASE_URL: config.databaseUrl,
    // The test's own database on the replica (testConfig maps it), not the runner's.
    ...(config.databaseReadUrl !== undefined ? { DATABASE_READ_URL: config.databaseReadUrl } : {}),
    REDIS_URL: config.redisUrl,
    ...(cluster ? { REDIS_CLUSTER_NODES: cluster.map((n) => `${n.host}:${n.port}`).join(',') } : {}),
    // The queue prefix is derived from it: `t<id>:` gives `{t<id>-bull}`, as testConfig does.
    REDIS_PREFIX: config.redisPrefix,
    JWT_SECRET: config.jwtSecret,
    ENCRYPTION_KEY: config.encryptionKey,
    RATE_LIMIT_MAX: String(config.rateLimitMax),
    AUTH_RATE_LIMIT_MAX: String(config.authRateLimitMax),
    ...(config.smtpUrl ? { SMTP_URL: config.smtpUrl } : {}),
    ...overrides
  }
}

async function portOpen (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

function start (entry: string, env: NodeJS.ProcessEnv, port: number): SpawnedProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (chunk) => { output += chunk })
  child.stderr!.on('data', (chunk) => { output += chunk })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))))
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    async kill () {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGKILL')
      await exited
    }
  }
}

/**
 * Starts `src/server.ts` and resolves once its port accepts connections, without sending it a
 * request (the caller's traffic is its first).
 */
export async function spawnServer (config: Config, overrides: Record<string, string> = {}, options: { entry?: string, timeoutMs?: number } = {}): Promise<SpawnedProcess> {
  const timeoutMs = options.timeoutMs ?? 60000
  const port = await freePort()
  const server = start(options.entry ?? 'src/server.ts', processEnv(config, { PORT: String(port), HOST: '127.0.0.1', ...overrides }), port)
  const deadline = Date.now() + timeoutMs
  while (!await portOpen(port)) {
    if (!server.alive()) throw new Error(`the server exited before listening:\n${server.output()}`)
    if (Date.now() > deadline) {
      await server.kill()
      throw new Error(`the server did not listen within ${timeoutMs} ms:\n${server.output()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return server
}

/** Starts `src/worker.ts` (its readiness is for the caller to observe, e.g. a job completing). */
export function spawnWorker (config: Config, overrides: Record<string, string> = {}): SpawnedProcess {
  return start('src/worker.ts', processEnv(config, overrides), 0)
}
