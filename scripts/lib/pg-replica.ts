import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { chown } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { asPostgresUser, freePort, postgresBin, type ServiceLog } from './local-services.ts'
import { migrateToLatest } from '../../src/platform/migrator.ts'

// A Postgres primary and a streaming replica of it, of their own, for the read-replica tests
// (and the topology): the primary is a fresh cluster (initdb) on a free port, the replica a
// `pg_basebackup -R` of it on another, both under one temporary folder, from the machine's
// binaries (Debian's postgresql package, installed when missing, as `npm test` does). A pair of
// our own rather than a replica of the runner's server: that one holds every test file's
// database and may not allow replication connections.

const run = promisify(execFile)

export interface PostgresPair {
  /** The URL of `database` on the primary (read-write). */
  primaryUrl: (database?: string) => string
  /** The URL of `database` on the replica (read-only, hot standby). */
  replicaUrl: (database?: string) => string
  /** Stops replaying WAL on the replica (it keeps receiving it): what it shows stays as of now, a lag as long as we like. */
  pauseReplay: () => Promise<void>
  resumeReplay: () => Promise<void>
  /** Waits until the replica has replayed everything the primary had written when called. */
  caughtUp: (timeoutMs?: number) => Promise<void>
  /** Stops the replica alone (a replica that went down); stop() is still safe after it. */
  stopReplica: () => Promise<void>
  /** Stops both servers and removes their folder. */
  stop: () => Promise<void>
}

export interface PostgresPairOptions {
  /** A database created on the primary and migrated to the latest schema before the replica is taken. */
  database?: string
  /**
   * Commits wait until the replica has applied them (synchronous_commit = remote_apply): a read on
   * the replica then sees every committed write, for a whole test suite run against a replica.
   * Replay cannot be paused then (every commit would wait for it).
   */
  synchronous?: boolean
  log?: ServiceLog
  /** The folder in which the pair's own folder is made (default: the system's temp folder). */
  parentDir?: string
}

const USER = 'postgres'
const url = (port: number, database: string) => `postgres://${USER}:${USER}@127.0.0.1:${port}/${database}`

async function query<R extends pg.QueryResultRow> (connectionString: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    return (await client.query<R>(text, values)).rows
  } finally {
    await client.end()
  }
}

async function until (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The postmaster's pid, from its pid file (null once it has stopped). */
function postmasterPid (dataDir: string): number | null {
  const file = join(dataDir, 'postmaster.pid')
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : null
}

export async function startPostgresPair (options: PostgresPairOptions = {}): Promise<PostgresPair> {
  const log = options.log ?? { info: () => {} }
  const bin = await postgresBin(log)
  const dir = mkdtempSync(join(options.parentDir ?? tmpdir(), 'bazaar-pg-pair-'))
  if (process.getuid?.() === 0) {
    // Postgres refuses to run as root: the folder is the postgres user's.
    const id = async (flag: string) => Number((await run('id', [flag, USER])).stdout.trim())
    await chown(dir, await id('-u'), await id('-g'))
  }
  const primaryDir = join(dir, 'primary')
  const replicaDir = join(dir, 'replica')
  const [primaryPort, replicaPort] = [await freePort(), await freePort()]
  if (primaryPort === replicaPort) throw new Error('no two free ports')
  const running = new Set<string>()

  // A crashed test file must not leave servers behind: immediate shutdown on exit, whatever happened.
  const killOnExit = () => {
    for (const dataDir of running) {
      const pid = postmasterPid(dataDir)
      try {
        if (pid) process.kill(pid, 'SIGQUIT')
      } catch {} // already gone
    }
  }
  process.on('exit', killOnExit)

  // Speed over durability (a test's throwaway data): no fsync, and asynchronous commit unless
  // commits are to wait for the replica (set after it streams, or the setup's own commits would wait).
  const serverOptions = (port: number) => `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off` +
    (options.synchronous ? '' : ' -c synchronous_commit=off')
  const pgCtl = (args: string[]) => asPostgresUser(join(bin, 'pg_ctl'), args)
  const start = async (dataDir: string, port: number, extra = '') => {
    running.add(dataDir)
    await pgCtl(['-D', dataDir, '-l', `${dataDir}.log`, '-w', '-t', '60', '-o', `${serverOptions(port)} ${extra}`, 'start'])
  }
  const stopServer = async (dataDir: string) => {
    if (!running.delete(dataDir)) return
    await pgCtl(['-D', dataDir, '-m', 'fast', '-w', 'stop']).catch(() => {})
  }
  const stop = async () => {
    await stopServer(replicaDir)
    await stopServer(primaryDir)
    process.off('exit', killOnExit)
    rmSync(dir, { recursive: true, force: true })
  }

  try {
    log.info(`starting a Postgres primary on 127.0.0.1:${primaryPort} and a replica on ${replicaPort} (in ${dir})`)
    // initdb's pg_hba.conf lets loopback connections replicate (trust): what pg_basebackup and the replica use.
    await asPostgresUser(join(bin, 'initdb'), ['-D', primaryDir, '-U', USER, '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'])
    await start(primaryDir, primaryPort, '-c wal_level=replica -c max_wal_senders=4')
    if (options.database) {
      await query(url(primaryPort, 'postgres'), `create database "${options.database}"`)
      await migrateToLatest(url(primaryPort, options.database))
    }
    // -R: standby.signal and primary_conninfo, so it starts as a streaming replica of the primary.
    await asPostgresUser(join(bin, 'pg_basebackup'), ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', USER, '-D', replicaDir,
      '-R', '-X', 'stream', '-c', 'fast', '--no-sync'])
    await start(replicaDir, replicaPort, '-c hot_standby=on')
    await until('the replica to stream', async () =>
      (await query(url(primaryPort, 'postgres'), "select 1 from pg_stat_replication where state = 'streaming'")).length > 0, 30000)
    if (options.synchronous) {
      for (const setting of ["synchronous_standby_names = '*'", "synchronous_commit = 'remote_apply'"]) await query(url(primaryPort, 'postgres'), `alter system set ${setting}`)
      await query(url(primaryPort, 'postgres'), 'select pg_reload_conf()')
    }
  } catch (err) {
    await stop()
    throw err
  }

  const caughtUp = async (timeoutMs = 10000) => {
    // The insert position: with asynchronous commit, a commit can be in WAL not yet written out.
    const [written] = await query<{ lsn: string }>(url(primaryPort, 'postgres'), 'select pg_current_wal_insert_lsn()::text as lsn')
    const lsn = written!.lsn
    await until(`the replica to replay up to ${lsn}`, async () => {
      const [row] = await query<{ done: boolean }>(url(replicaPort, 'postgres'), 'select pg_last_wal_replay_lsn() >= $1::pg_lsn as done', [lsn])
      return row?.done === true
    }, timeoutMs)
  }

  return {
    primaryUrl: (database = 'postgres') => url(primaryPort, database),
    replicaUrl: (database = 'postgres') => url(replicaPort, database),
    pauseReplay: async () => {
      if (options.synchronous) throw new Error('replay cannot be paused on a synchronous replica: every commit would wait')
      await query(url(replicaPort, 'postgres'), 'select pg_wal_replay_pause()')
      // Asked is not done: replay stops at its next record boundary.
      await until('replay to pause', async () =>
        (await query<{ state: string }>(url(replicaPort, 'postgres'), 'select pg_get_wal_replay_pause_state() as state'))[0]?.state === 'paused', 10000)
    },
    resumeReplay: async () => { await query(url(replicaPort, 'postgres'), 'select pg_wal_replay_resume()') },
    caughtUp,
    stopReplica: () => stopServer(replicaDir),
    stop
  }
}
