import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, type ServiceLog } from './local-services.ts'
import { startPostgresPair, type PostgresPair } from './pg-replica.ts'
import { startPgBouncer, type TestPgBouncer } from './pgbouncer.ts'
import { startRedisCluster, type RedisCluster } from './redis-cluster.ts'
import { startS3Server, type TestS3 } from './s3-server.ts'
import { startMailCatcher, type MailCatcher } from './topology-mail.ts'
import { startAppProcess, type AppProcess, type ProcessKind } from './topology-processes.ts'

// Bazaar scaled out on one machine (issue 13): a Redis Cluster of 3 masters, a Postgres primary
// with a streaming replica (pg_basebackup -R), PgBouncer in transaction mode in front of the
// primary, an S3-compatible server (s3rver), an SMTP catcher, then N API and M worker processes
// configured by environment alone, as a deployment configures them. Everything on free ports,
// under one scratch folder; stop() stops it all, and a watchdog does if this process dies.

export const DATABASE = 'bazaar'
const BUCKET = 'bazaar-topology'

export interface TopologyOptions {
  apis?: number
  workers?: number
  /** Settings for every API and worker process, over the topology's own. */
  env?: Record<string, string>
  log?: ServiceLog
}

export interface Topology {
  /** The scratch folder: process logs (logs/), the servers' data. */
  dir: string
  /** The primary, directly (migrations, admin, verification); the app's database unless named. */
  primaryUrl: (database?: string) => string
  /** The primary through PgBouncer (transaction mode): the processes' DATABASE_URL. */
  pooledUrl: (database?: string) => string
  /** The streaming replica: the processes' DATABASE_READ_URL. */
  replicaUrl: (database?: string) => string
  redisNodes: string[]
  s3: TestS3
  mail: MailCatcher
  pair: PostgresPair
  pgbouncer: TestPgBouncer
  /** The environment every API and worker process gets (PORT and WORKER_METRICS_PORT aside). */
  env: Record<string, string>
  apis: AppProcess[]
  workers: AppProcess[]
  /** Starts one more API or worker process with the topology's environment. */
  start: (kind: ProcessKind, extraEnv?: Record<string, string>) => Promise<AppProcess>
  stop: () => Promise<void>
}

/**
 * Kills whatever is registered in `pidFile` and every Postgres under `dir` once `parent` is
 * gone, then removes `dir`: engines must not outlive a test process killed with SIGKILL.
 */
function engineWatchdog (parent: number, dir: string, pidFile: string): number {
  const script = `while kill -0 ${parent} 2>/dev/null; do sleep 1; done
kill -9 $(cat '${pidFile}' 2>/dev/null) 2>/dev/null
for f in $(find '${dir}' -name postmaster.pid 2>/dev/null); do kill -QUIT $(head -1 "$f") 2>/dev/null; done
sleep 2; rm -rf '${dir}'`
  const dog = spawn('sh', ['-c', script], { stdio: 'ignore', detached: true })
  dog.unref()
  return dog.pid!
}

export async function startTopology (options: TopologyOptions = {}): Promise<Topology> {
  const log = options.log ?? { info: () => {} }
  const dir = mkdtempSync(join(tmpdir(), 'bazaar-topology-'))
  // The Postgres folders inside belong to the postgres user, who must be able to reach them.
  chmodSync(dir, 0o755)
  const logDir = join(dir, 'logs')
  mkdirSync(logDir)
  const pidFile = join(dir, 'pids')
  const pids: number[] = []
  const remember = (pid: number) => {
    pids.push(pid)
    writeFileSync(pidFile, pids.join(' '))
  }
  const dog = engineWatchdog(process.pid, dir, pidFile)
  const stops: Array<() => Promise<unknown>> = []
  const processes: AppProcess[] = []

  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop(10_000)))
    for (const stopOne of stops.splice(0).reverse()) await stopOne().catch(() => {})
    try { process.kill(dog, 'SIGKILL') } catch {}
    rmSync(dir, { recursive: true, force: true })
  }

  try {
    log.info('starting a Redis Cluster (3 masters)')
    const cluster: RedisCluster = await startRedisCluster({ masters: 3, dataDir: join(dir, 'redis') })
    stops.push(cluster.stop)
    log.info('starting a Postgres primary and a streaming replica (pg_basebackup), migrating the primary')
    const pair = await startPostgresPair({ database: DATABASE, synchronous: true, parentDir: dir, log })
    stops.push(pair.stop)
    log.info('starting PgBouncer (transaction mode) in front of the primary')
    const pgbouncer = await startPgBouncer({ server: pair.primaryUrl(), poolSize: 20 })
    remember(pgbouncer.pid)
    stops.push(pgbouncer.close)
    log.info('starting s3rver and an SMTP catcher')
    const s3 = await startS3Server(BUCKET, dir)
    remember(s3.pid)
    stops.push(s3.close)
    const mail = await startMailCatcher()
    stops.push(mail.close)

    const env: Record<string, string> = {
      // Not production: that runs the compiled build (npm run build) and sets Secure cookies,
      // which plain http on loopback would drop; everything else is configured as in production.
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      DATABASE_URL: pgbouncer.url(pair.primaryUrl(DATABASE)),
      DATABASE_READ_URL: pair.replicaUrl(DATABASE),
      // PgBouncer 1.18 (Debian) cannot carry protocol-level prepared statements in transaction mode.
      DATABASE_PREPARED_STATEMENTS: 'false',
      REDIS_CLUSTER_NODES: cluster.nodes.join(','),
      S3_BUCKET: s3.config.bucket,
      S3_ENDPOINT: s3.config.endpoint!,
      S3_REGION: s3.config.region,
      S3_ACCESS_KEY_ID: s3.config.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.config.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
      SMTP_URL: mail.url,
      // Every copy must share these, or none could read what another signed or sealed.
      JWT_SECRET: randomBytes(32).toString('base64url'),
      ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
      METRICS_TOKEN: randomBytes(16).toString('hex'),
      // As behind a load balancer on this host: the client address is its X-Forwarded-For.
      TRUST_PROXY: 'loopback',
      DATA_DIR: join(dir, 'data'),
      ...options.env
    }
    // The processes see the environment we give and nothing of the runner's (its DATABASE_URL, REDIS_URL...).
    // Their temporary files (upload spools) stay under the scratch folder too, removed with it.
    mkdirSync(join(dir, 'tmp'))
    const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: join(dir, 'tmp'), _TAPJS_PROCESSINFO_COVERAGE_: '0' }
    const counters: Record<ProcessKind, number> = { api: 0, worker: 0 }
    const start = async (kind: ProcessKind, extraEnv: Record<string, string> = {}) => {
      const port = await freePort()
      const name = `${kind}-${++counters[kind]}`
      const portEnv = kind === 'api' ? { PORT: String(port) } : { WORKER_METRICS_PORT: String(port) }
      const proc = await startAppProcess({ name, kind, port, env: { ...base, ...env, ...portEnv, ...extraEnv }, logDir })
      processes.push(proc)
      return proc
    }
    log.info(`starting ${options.apis ?? 2} API and ${options.workers ?? 2} worker processes`)
    const apis = await Promise.all(Array.from({ length: options.apis ?? 2 }, () => start('api')))
    const workers = await Promise.all(Array.from({ length: options.workers ?? 2 }, () => start('worker')))
    return {
      dir,
      primaryUrl: (database = DATABASE) => pair.primaryUrl(database),
      pooledUrl: (database = DATABASE) => pgbouncer.url(pair.primaryUrl(database)),
      replicaUrl: (database = DATABASE) => pair.replicaUrl(database),
      redisNodes: cluster.nodes,
      s3,
      mail,
      pair,
      pgbouncer,
      env,
      apis,
      workers,
      start,
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}
