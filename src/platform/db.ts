import { createHash } from 'node:crypto'
import fp from 'fastify-plugin'
import pg from 'pg'
import { CamelCasePlugin, Kysely, PostgresDialect, sql, type LogEvent, type PostgresPool, type Transaction } from 'kysely'
import type { DB } from './db-types.ts'
import type { Config } from '../config.ts'
import { activeTracing } from './tracing.ts'
import { watchReplica, type ReplicaStatus, type ReplicaWatch } from './read-replica.ts'
import { appendHook } from './route-hooks.ts'

// int8 (counts, sums) arrives as a string by default; our int8 values are far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))

export type Db = Kysely<DB>
export type Trx = Transaction<DB>
/** Either the pool or a transaction: services take this when a caller may pass its transaction. */
export type Queryable = Db | Trx

export interface Database {
  db: Db
  pool: pg.Pool
  destroy: () => Promise<void>
}

/** Told when a pooled connection is lost (a Postgres restart, a terminated backend). */
export type ConnectionErrorListener = (err: Error) => void

// Plan reuse: pg sends a statement unnamed unless told otherwise, and Postgres then parses and
// plans it again on every request, which costs more than running our short statements. A
// named statement is prepared on a connection the first time it runs there and reused after.
// Names are a hash of the SQL (Kysely's SQL carries $n placeholders, never values), and each
// connection prepares at most MAX_PREPARED: SQL beyond that (an `in` list of a new length) goes
// unnamed. Off for poolers that cannot carry prepared statements across their backends.
const MAX_PREPARED = 500
const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i
const statementNames = new Map<string, string>()

function statementName (text: string): string {
  let name = statementNames.get(text)
  if (name === undefined) {
    name = `bz_${createHash('sha1').update(text).digest('base64url').slice(0, 22)}`
    // Bounded like each connection's set: SQL seen once beyond it is hashed again when it recurs.
    if (statementNames.size < MAX_PREPARED * 4) statementNames.set(text, name)
  }
  return name
}

type QueryFn = (config: unknown, values?: unknown, callback?: unknown) => unknown

function prepareRepeatedStatements (client: pg.PoolClient): void {
  const query = client.query.bind(client) as QueryFn
  const prepared = new Set<string>()
  const named: QueryFn = (config, values, callback) => {
    if (typeof config === 'string' && Array.isArray(values) && PREPARABLE.test(config)) {
      const name = statementName(config)
      if (prepared.has(name) || prepared.size < MAX_PREPARED) {
        prepared.add(name)
        return query({ name, text: config, values }, callback)
      }
    }
    return query(config, values, callback)
  }
  client.query = named as typeof client.query
}

export function createPool (config: Pick<Config, 'databaseUrl' | 'databasePoolMax'> & Partial<Pick<Config, 'databasePreparedStatements'>>, onConnectionError: ConnectionErrorListener = () => {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: config.databasePoolMax,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30000,
    // A stuck statement must not hold a connection forever.
    statement_timeout: 30000
  })
  // A connection the server ends emits 'error' on its client: the pool listens while the
  // client is idle, nobody while it is checked out (mid-statement or in an open transaction),
  // and an 'error' event without a listener ends the process. So every client gets a listener
  // of its own for its whole life; the failing query still rejects, and the pool discards the
  // client when it comes back unqueryable.
  const tracing = activeTracing()
  pool.on('connect', (client) => {
    client.on('error', onConnectionError)
    if (config.databasePreparedStatements !== false) prepareRepeatedStatements(client)
    tracing?.instrumentPgClient(client)
  })
  pool.on('error', onConnectionError)
  return pool
}

/** Which Kysely instance ran a statement: the primary's (`db`) or the read replica's (`dbRead`). */
export type DbTarget = 'primary' | 'replica'

/** Called with each statement's SQL once it has run (tests and benchmarks count statements). */
export type QueryListener = (sql: string, target: DbTarget) => void

type PoolConfig = Pick<Config, 'databaseUrl' | 'databasePoolMax'> & Partial<Pick<Config, 'databasePreparedStatements'>>

function kysely (pool: PostgresPool, target: DbTarget, onQuery?: QueryListener): Db {
  return new Kysely<DB>({
    dialect: new PostgresDialect({ pool }),
    plugins: [new CamelCasePlugin()],
    ...(onQuery ? { log: (event: LogEvent) => onQuery(event.query.sql, target) } : {})
  })
}

export function createDatabase (config: PoolConfig, onQuery?: QueryListener, onConnectionError?: ConnectionErrorListener): Database {
  const pool = createPool(config, onConnectionError)
  const db = kysely(pool, 'primary', onQuery)
  return { db, pool, destroy: () => db.destroy() }
}

// Read replicas (DATABASE_READ_URL). `dbRead` (deps.readDb) is a second pool, on a streaming
// replica, and the rule is: everything goes to the primary (`db`) except reads chosen for the
// replica, and a read is chosen only when it may be slightly old: answers that are the same for
// everyone and already cached for up to CATALOG_CACHE_TTL_MS (the public catalog), and public
// views read anonymously (readerFor in deps.ts). Transactions, writes, and every read of the
// caller's own data (their orders, cart, profile, their workspace's products) use the primary. A
// worker or script reads the primary: jobs act on what they read. How old a replica read may be,
// and when the replica is skipped, is src/platform/read-replica.ts's to decide: `dbRead` is the
// replica's Kysely only while its watch says so, else the primary's. Without DATABASE_READ_URL,
// dbRead is the primary's Kysely.

/** The replica's pool: a replica that stops answering costs a read a second at most, not five. */
function replicaPool (config: PoolConfig & { databaseReadUrl: string }, onConnectionError?: ConnectionErrorListener): pg.Pool {
  const pool = createPool({ ...config, databaseUrl: config.databaseReadUrl }, onConnectionError)
  pool.options.connectionTimeoutMillis = 1000
  pool.options.keepAlive = true
  return pool
}

/**
 * Reads that were sent to the replica fall back to the primary if a connection cannot be had
 * (the replica went down since its last check): they answer, from the primary.
 */
function replicaOrPrimary (replica: pg.Pool, primary: pg.Pool, watch: () => ReplicaWatch): PostgresPool {
  return {
    connect: async () => {
      try {
        return await replica.connect()
      } catch {
        watch().check().catch(() => {})
        return primary.connect()
      }
    },
    end: () => replica.end()
  }
}

export interface ReadDatabase extends Database {
  watch: ReplicaWatch
}

/** The read replica's database when DATABASE_READ_URL is set; `destroy` ends the replica's pool only. */
export function createReadDatabase (config: PoolConfig & Pick<Config, 'databaseReadUrl'>, primary: Database, onQuery?: QueryListener,
  onConnectionError?: ConnectionErrorListener, onChange: (status: ReplicaStatus, err?: Error) => void = () => {}): ReadDatabase | null {
  if (config.databaseReadUrl === undefined) return null
  const pool = replicaPool({ ...config, databaseReadUrl: config.databaseReadUrl }, onConnectionError)
  const watch = watchReplica(primary.pool, pool, onChange)
  const db = kysely(replicaOrPrimary(pool, primary.pool, () => watch), 'replica', onQuery)
  return {
    db,
    pool,
    watch,
    destroy: async () => {
      watch.stop()
      await db.destroy()
    }
  }
}

/** Round-trip time of a trivial statement, in milliseconds. */
export async function pingDatabase (db: Kysely<any>): Promise<number> {
  const started = performance.now()
  await sql`select 1`.execute(db)
  return Math.round((performance.now() - started) * 100) / 100
}

export default fp(async (app, options: { onQuery?: QueryListener }) => {
  const lost: ConnectionErrorListener = (err) => app.log.warn({ err: err.message }, 'a postgres connection was lost')
  const database = createDatabase(app.config, options.onQuery, lost)
  const replica = createReadDatabase(app.config, database, options.onQuery, lost, (status, err) => {
    if (status.state === 'caught-up') app.log.info({ replica: status }, 'the read replica is used for public reads')
    else app.log.warn({ replica: status, ...(err ? { err: err.message } : {}) }, 'public reads go to the primary: the read replica is not usable')
  })
  app.decorate('db', database.db)
  app.decorate('dbRead', { getter: () => (replica?.watch.usable() === true ? replica.db : database.db) })
  app.decorate('readReplica', replica?.watch ?? null)
  app.decorate('pgPool', database.pool)
  if (replica !== null) {
    await replica.watch.check()
    // A write the public catalog shows, made through this process: its readers (the writer
    // first) read the primary until the replica has replayed it.
    app.addHook('onRoute', (route) => {
      if (route.config?.changesCatalog !== true) return
      route.onSend = appendHook(route.onSend, (_request, reply, payload, done) => {
        if (reply.statusCode < 400 || reply.statusCode >= 500) replica.watch.written()
        done(null, payload)
      })
    })
  }
  app.addHook('onClose', async () => {
    await replica?.destroy()
    await database.destroy()
  })
}, { name: 'db', dependencies: ['config'] })

declare module 'fastify' {
  interface FastifyInstance {
    db: Db
    /** Lag-tolerant reads only (see above): the read replica's Kysely while it is usable, else `db`. */
    dbRead: Db
    /** The read replica's watch, when DATABASE_READ_URL is set. */
    readReplica: ReplicaWatch | null
    pgPool: pg.Pool
  }
}
