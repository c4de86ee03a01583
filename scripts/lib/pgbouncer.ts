import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort, postgresAnswers, withDatabase } from './local-services.ts'

// A real PgBouncer (Debian's `pgbouncer`, installed when missing as root on Debian, as
// local-services.ts does for Postgres) in transaction pooling mode, in front of the test
// Postgres (or options.server: the topology's primary), on a free port with its configuration in a temp dir; close() stops it. Any
// database name is forwarded (a `*` entry), so a test's own database is reachable through it.

const run = promisify(execFile)

export interface PgBouncerOptions {
  /** The Postgres server in front of which it runs (default: the test server, DATABASE_URL). */
  server?: string
  /** Server connections per database and user: small, so client connections really share them. */
  poolSize?: number
  /** Server connections opened ahead of need (min_pool_size). */
  minPoolSize?: number
  /** Hand idle server connections out in turn instead of most recently used first. */
  roundRobin?: boolean
  /** Startup parameters PgBouncer accepts and drops (ignore_startup_parameters). */
  ignoreStartupParameters?: string[]
  /** max_prepared_statements (PgBouncer 1.21 and later; refused below). */
  maxPreparedStatements?: number
}

export interface TestPgBouncer {
  /** e.g. '1.18.0' */
  version: string
  /** 1.21 and later carry protocol-level prepared statements across server connections. */
  carriesPreparedStatements: boolean
  port: number
  /** PgBouncer's process id (a watchdog outside this process may have to kill it). */
  pid: number
  /** `databaseUrl`'s database, reached through this PgBouncer. */
  url: (databaseUrl: string) => string
  /** Everything PgBouncer logged so far. */
  output: () => string
  close: () => Promise<void>
}

const isRoot = () => process.getuid?.() === 0

/** The test runner's server (`npm test` sets DATABASE_URL) when no other is named. */
function defaultServer (): string {
  const url = process.env.DATABASE_URL
  if (!url) throw new Error('DATABASE_URL is not set: name the server (options.server) or run with `npm test`')
  return url
}

async function which (binary: string): Promise<string | null> {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
    if (existsSync(join(dir, binary))) return join(dir, binary)
  }
  return run('sh', ['-c', `command -v ${binary}`]).then(({ stdout }) => stdout.trim() || null, () => null)
}

let installing: Promise<string> | undefined

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Test files start in parallel: one installs while the others wait on a lock folder. */
async function aptInstallOnce (): Promise<void> {
  const lock = join(tmpdir(), 'bazaar-pgbouncer-install.lock')
  for (let i = 0; ; i++) {
    try {
      await mkdir(lock)
      break
    } catch {
      if (await which('pgbouncer')) return
      // A lock left by a crashed run is older than any install.
      if (Date.now() - (await stat(lock).then((s) => s.mtimeMs, () => Date.now())) > 10 * 60_000) await rm(lock, { recursive: true, force: true })
      if (i > 2400) throw new Error(`waited 10 minutes for another install of pgbouncer (${lock})`)
      await sleep(250)
    }
  }
  try {
    if (await which('pgbouncer')) return
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    const wait = ['-o', 'DPkg::Lock::Timeout=300']
    await run('apt-get', [...wait, 'update', '-q'], { env, maxBuffer: 64 * 1024 * 1024 })
    await run('apt-get', [...wait, 'install', '-y', '-q', '--no-install-recommends', 'pgbouncer'], { env, maxBuffer: 64 * 1024 * 1024 })
  } finally {
    await rm(lock, { recursive: true, force: true })
  }
}

/** The pgbouncer binary, installed from Debian's packages when missing (root on Debian only). */
export function pgbouncerBin (): Promise<string> {
  installing ??= (async () => {
    const found = await which('pgbouncer')
    if (found) return found
    if (!isRoot() || !existsSync('/etc/debian_version')) throw new Error('pgbouncer not found: install it (Debian: apt-get install pgbouncer)')
    await aptInstallOnce()
    const installed = await which('pgbouncer')
    if (!installed) throw new Error('pgbouncer was installed but not found')
    return installed
  })()
  return installing
}

export async function pgbouncerVersion (bin: string): Promise<string> {
  const { stdout } = await run(bin, ['--version'])
  const version = /PgBouncer\s+(\d+\.\d+(?:\.\d+)?)/i.exec(stdout)?.[1]
  if (!version) throw new Error(`cannot read the pgbouncer version from: ${stdout}`)
  return version
}

export function atLeast (version: string, wanted: string): boolean {
  const a = version.split('.').map(Number)
  const b = wanted.split('.').map(Number)
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0)
  }
  return true
}

const quote = (value: string) => `'${value.replace(/'/g, "''")}'`

export async function startPgBouncer (options: PgBouncerOptions = {}): Promise<TestPgBouncer> {
  const bin = await pgbouncerBin()
  const version = await pgbouncerVersion(bin)
  const carriesPreparedStatements = atLeast(version, '1.21')
  if (options.maxPreparedStatements !== undefined && !carriesPreparedStatements) {
    throw new Error(`PgBouncer ${version} has no max_prepared_statements (1.21 and later)`)
  }
  const server = new URL(options.server ?? defaultServer())
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'bazaar-pgbouncer-'))
  const serverLogin = [
    `host=${server.hostname}`, `port=${server.port || 5432}`,
    `user=${quote(decodeURIComponent(server.username || 'postgres'))}`,
    ...(server.password ? [`password=${quote(decodeURIComponent(server.password))}`] : [])
  ].join(' ')
  const ini = [
    '[databases]',
    // Any database name the client asks for, on the test server, as the test server's user.
    `* = ${serverLogin}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${join(dir, 'userlist.txt')}`,
    'pool_mode = transaction',
    `default_pool_size = ${options.poolSize ?? 2}`,
    `min_pool_size = ${options.minPoolSize ?? 0}`,
    'max_client_conn = 500',
    `server_round_robin = ${options.roundRobin ? 1 : 0}`,
    `ignore_startup_parameters = ${(options.ignoreStartupParameters ?? ['statement_timeout']).join(',')}`,
    ...(carriesPreparedStatements ? [`max_prepared_statements = ${options.maxPreparedStatements ?? 0}`] : []),
    // After a failed server login (a database not created yet) PgBouncer holds new logins to
    // it for server_login_retry (15 s by default); a test creates one and connects at once.
    'server_login_retry = 1',
    'log_connections = 0',
    'log_disconnections = 0'
  ].join('\n') + '\n'
  await writeFile(join(dir, 'userlist.txt'), '"postgres" ""\n')
  await writeFile(join(dir, 'pgbouncer.ini'), ini)

  // PgBouncer refuses to run as root; as root it drops to the postgres user after reading its files.
  const args = [...(isRoot() ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')]
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (chunk) => { output += chunk })
  child.stderr!.on('data', (chunk) => { output += chunk })
  const exited = once(child, 'exit')
  // A test process that ends without its teardown must not leave PgBouncer running.
  const orphaned = () => child.kill('SIGKILL')
  process.once('exit', orphaned)

  const through = (databaseUrl: string) => {
    const url = new URL(databaseUrl)
    url.hostname = '127.0.0.1'
    url.port = String(port)
    return url.toString()
  }
  const close = async () => {
    process.off('exit', orphaned)
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await exited
    }
    await rm(dir, { recursive: true, force: true })
  }

  const probe = through(withDatabase(server.toString(), 'postgres'))
  for (let i = 0; !(await postgresAnswers(probe, 1000)); i++) {
    if (child.exitCode !== null || i >= 100) {
      await close()
      throw new Error(`pgbouncer did not start:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { version, carriesPreparedStatements, port, pid: child.pid!, url: through, output: () => output, close }
}
