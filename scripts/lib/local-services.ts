import { execFile, spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { basename, join } from 'node:path'
import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import pg from 'pg'
import { Redis } from 'ioredis'
import { DEFAULT_REDIS_URL } from '../../src/config.ts'
import type { RedisNode } from '../../src/config-checks.ts'
import { localServicesFile, readLocalServices } from './dev-env.ts'
import { checkRedis, checkRedisCluster, ensureDatabase, redactUrl, withDatabase } from './service-checks.ts'
import { installDebianPackages } from './debian-packages.ts'

export { withDatabase }

// SPEC 10: with no DATABASE_URL/REDIS_URL in development and test, the project provides
// Postgres and Redis itself: servers already answering on the default ports are used as they
// are; otherwise project-local ones are started from the machine's binaries with their data
// under ./data/, after installing Debian's packages when we are root on Debian and they are
// missing. Whatever this module starts, stop() stops.

const run = promisify(execFile)

export interface ServiceLog { info: (msg: string) => void }

export interface LocalServices {
  databaseUrl: string
  redisUrl: string
  /** What this call started (and stop() will stop). */
  started: string[]
  stop: () => Promise<void>
}

export interface LocalServicesOptions {
  dataDir: string
  databaseUrl?: string
  redisUrl?: string
  /** A Redis Cluster's seed nodes (REDIS_CLUSTER_NODES): used as given, no Redis is provided. */
  redisClusterNodes?: readonly RedisNode[]
  /** Name of the database for the app (created when missing). */
  database?: string
  /** Check the services given (databaseUrl, redisUrl) answer before anything runs on them. */
  checkGiven?: boolean
  /** With checkGiven: create the database databaseUrl names when it is missing (development). */
  createDatabase?: boolean
  log?: ServiceLog
}

const DEFAULT_PG = { user: 'postgres', password: 'postgres', host: '127.0.0.1', port: 5432 }

function pgUrl (port: number, database: string): string {
  return `postgres://${DEFAULT_PG.user}:${DEFAULT_PG.password}@${DEFAULT_PG.host}:${port}/${database}`
}

/** Whether a Postgres server answers at `url` and lets us in. */
export async function postgresAnswers (url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

async function redisAnswers (url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1500, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

/** A port the OS considers free right now (bound to 0 and released). */
export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

async function portFree (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

async function choosePort (preferred: number, fallbackStart: number): Promise<number> {
  if (await portFree(preferred)) return preferred
  for (let port = fallbackStart; port < fallbackStart + 100; port++) {
    if (await portFree(port)) return port
  }
  throw new Error(`no free port near ${fallbackStart}`)
}

const isRoot = () => process.getuid?.() === 0

async function which (binary: string): Promise<string | null> {
  try {
    const { stdout } = await run('sh', ['-c', `command -v ${binary}`])
    return stdout.trim() || null
  } catch {
    return null
  }
}

async function aptInstall (packages: string[], log: ServiceLog): Promise<void> {
  await installDebianPackages(packages, `${packages.join(' and ')} not found; install ${packages.join(' ')} or set DATABASE_URL / REDIS_URL`, (msg) => log.info(msg))
}

/** The newest Postgres server binaries on the machine (Debian keeps them outside PATH). */
function findPostgresBin (): string | null {
  const root = '/usr/lib/postgresql'
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a))
    if (versions[0]) return join(root, versions[0], 'bin')
  }
  return null
}

export async function postgresBin (log: ServiceLog): Promise<string> {
  let bin = findPostgresBin()
  if (bin) return bin
  const pgCtl = await which('pg_ctl')
  if (pgCtl) return pgCtl.replace(/\/pg_ctl$/, '')
  await aptInstall(['postgresql'], log)
  bin = findPostgresBin()
  if (!bin) throw new Error('postgresql was installed but pg_ctl was not found')
  return bin
}

/** Postgres refuses to run as root; as root we run its binaries as the `postgres` user. */
export async function asPostgresUser (command: string, args: string[]): Promise<{ stdout: string }> {
  if (isRoot()) return run('runuser', ['-u', 'postgres', '--', command, ...args], { maxBuffer: 16 * 1024 * 1024 })
  return run(command, args, { maxBuffer: 16 * 1024 * 1024 })
}

/**
 * As root, the cluster belongs to the postgres user, which must be able to reach ./data/. When
 * the checkout sits in a folder it cannot enter (a private home or mktemp folder), the cluster
 * goes under the postgres user's home instead, one per checkout.
 */
async function clusterDir (dataDir: string, log: ServiceLog): Promise<string> {
  const local = join(dataDir, 'postgres')
  if (!isRoot()) return local
  const reachable = await run('runuser', ['-u', 'postgres', '--', 'test', '-x', dataDir]).then(() => true, () => false)
  if (reachable) return local
  const fallback = join('/var/lib/postgresql/bazaar', createHash('sha256').update(dataDir).digest('hex').slice(0, 12))
  log.info(`the postgres user cannot enter ${dataDir}; keeping the cluster in ${fallback}`)
  return fallback
}

async function startPostgres (dataDir: string, log: ServiceLog): Promise<{ url: (db: string) => string, stop: () => Promise<void> }> {
  const bin = await postgresBin(log)
  await mkdir(dataDir, { recursive: true })
  const pgData = await clusterDir(dataDir, log)
  const logFile = join(pgData, '..', `${basename(pgData)}.log`)
  await mkdir(pgData, { recursive: true })
  if (isRoot()) {
    const ids = await run('id', ['-u', 'postgres']).catch(() => null)
    if (!ids) throw new Error('running as root, but there is no postgres system user to run Postgres as')
    const uid = Number(ids.stdout.trim())
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim())
    await chown(pgData, uid, gid)
    await writeFile(logFile, '', { flag: 'a' })
    await chown(logFile, uid, gid)
  }
  await chmod(pgData, 0o700)
  if (!existsSync(join(pgData, 'PG_VERSION'))) {
    log.info(`creating a Postgres cluster in ${pgData}`)
    await asPostgresUser(join(bin, 'initdb'), ['-D', pgData, '-U', DEFAULT_PG.user, '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'])
  }
  const port = await choosePort(DEFAULT_PG.port, 54320)
  log.info(`starting Postgres on 127.0.0.1:${port} (data in ${pgData})`)
  await asPostgresUser(join(bin, 'pg_ctl'), ['-D', pgData, '-l', logFile, '-w', '-t', '60', '-o',
    `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c synchronous_commit=off -c max_connections=300 -c shared_preload_libraries=pg_stat_statements`, 'start'])
  return {
    url: (db) => pgUrl(port, db),
    stop: async () => { await asPostgresUser(join(bin, 'pg_ctl'), ['-D', pgData, '-m', 'fast', '-w', 'stop']) }
  }
}

async function redisBin (log: ServiceLog): Promise<string> {
  const found = await which('redis-server')
  if (found) return found
  await aptInstall(['redis-server'], log)
  const installed = await which('redis-server')
  if (!installed) throw new Error('redis-server was installed but not found on PATH')
  return installed
}

async function startRedis (dataDir: string, log: ServiceLog): Promise<{ url: string, stop: () => Promise<void> }> {
  const bin = await redisBin(log)
  // Installing the package may have started the system's own server on the default port.
  if (await redisAnswers(DEFAULT_REDIS_URL)) return { url: DEFAULT_REDIS_URL, stop: async () => {} }
  const dir = join(dataDir, 'redis')
  await mkdir(dir, { recursive: true })
  const port = await choosePort(6379, 63790)
  log.info(`starting Redis on 127.0.0.1:${port} (data in ${dir})`)
  const pidFile = join(dir, 'redis.pid')
  await new Promise<void>((resolve, reject) => {
    const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'yes',
      '--pidfile', pidFile, '--logfile', join(dir, 'redis.log'), '--save', '60 1000', '--appendonly', 'no'], { stdio: 'ignore' })
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-server exited with ${code}`))))
  })
  const url = `redis://127.0.0.1:${port}`
  for (let i = 0; i < 100 && !(await redisAnswers(url)); i++) await new Promise((resolve) => setTimeout(resolve, 100))
  if (!(await redisAnswers(url))) throw new Error(`redis did not start; see ${join(dir, 'redis.log')}`)
  return {
    url,
    stop: async () => {
      if (!existsSync(pidFile)) return
      const pid = Number(readFileSync(pidFile, 'utf8').trim())
      try { process.kill(pid, 'SIGTERM') } catch { return }
      for (let i = 0; i < 100; i++) {
        try { process.kill(pid, 0) } catch { return }
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  }
}

/** The app's database on a server we found or started: created when missing, with statement statistics. */
async function prepareDatabase (url: string): Promise<void> {
  await ensureDatabase(url)
  // Statement statistics for /health/database/performance, where the server allows it.
  const app = new pg.Client({ connectionString: url })
  await app.connect()
  await app.query('create extension if not exists pg_stat_statements').catch(() => {})
  await app.end()
}

export async function provideLocalServices (options: LocalServicesOptions): Promise<LocalServices> {
  const log = options.log ?? { info: (msg: string) => process.stdout.write(`[services] ${msg}\n`) }
  const database = options.database ?? 'bazaar'
  const record = readLocalServices(options.dataDir)
  const stops: Array<{ name: string, stop: () => Promise<void> }> = []

  let databaseUrl = options.databaseUrl
  if (!databaseUrl) {
    const candidates = [pgUrl(DEFAULT_PG.port, 'postgres'), record.databaseUrl && withDatabase(record.databaseUrl, 'postgres')].filter(Boolean) as string[]
    let serverUrl: string | undefined
    for (const candidate of candidates) {
      if (await postgresAnswers(candidate)) { serverUrl = candidate; break }
    }
    if (serverUrl) {
      log.info(`using the Postgres server answering at ${new URL(serverUrl).host}`)
    } else {
      const started = await startPostgres(options.dataDir, log)
      serverUrl = started.url('postgres')
      stops.push({ name: 'postgres', stop: started.stop })
    }
    databaseUrl = withDatabase(serverUrl, database)
    await prepareDatabase(databaseUrl)
  } else if (options.checkGiven) {
    if (await ensureDatabase(databaseUrl, options.createDatabase)) log.info(`created the database ${redactUrl(databaseUrl)}`)
  }

  let redisUrl = options.redisUrl
  if (options.redisClusterNodes) {
    // A cluster is the operator's: nothing to reuse or start. REDIS_URL only carries its credentials.
    redisUrl ??= DEFAULT_REDIS_URL
    if (options.checkGiven) await checkRedisCluster(options.redisClusterNodes, redisUrl)
  } else if (!redisUrl) {
    const candidates = [DEFAULT_REDIS_URL, record.redisUrl].filter(Boolean) as string[]
    for (const candidate of candidates) {
      if (await redisAnswers(candidate)) { redisUrl = candidate; break }
    }
    if (redisUrl) {
      log.info(`using the Redis server answering at ${new URL(redisUrl).host}`)
    } else {
      const started = await startRedis(options.dataDir, log)
      redisUrl = started.url
      stops.push({ name: 'redis', stop: started.stop })
    }
  } else if (options.checkGiven) {
    await checkRedis(redisUrl)
  }

  if (stops.length > 0) {
    await mkdir(options.dataDir, { recursive: true })
    await writeFile(localServicesFile(options.dataDir), JSON.stringify({ databaseUrl, redisUrl }, null, 2) + '\n')
  }

  return {
    databaseUrl,
    redisUrl,
    started: stops.map((s) => s.name),
    stop: async () => {
      for (const { name, stop } of stops.reverse()) {
        log.info(`stopping ${name}`)
        await stop().catch((err: Error) => log.info(`could not stop ${name}: ${err.message}`))
      }
    }
  }
}
