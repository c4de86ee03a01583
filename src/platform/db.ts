import { createHash } from 'node:crypto'
import fp from 'fastify-plugin'
import pg from 'pg'
import { CamelCasePlugin, Kysely, PostgresDialect, sql, type LogEvent, type PostgresPool, type Transaction } from 'kysely'
import type { DB } from './db-types.ts'
import type { Config } from '../config.ts'
import { activeTracing } from './tracing.ts'

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
// replica, and a read is chosen only when a replica's lag cannot show the caller an older state
// than their own last write: answers that are the same for everyone and already cached for up to
// CATALOG_CACHE_TTL_MS (the public catalog), and public views read anonymously (readerFor in
// deps.ts). Transactions, writes, and every read of the caller's own data (their orders, cart,
// profile, their workspace's products) use the primary, so each caller reads their own writes
// however far the replica lags. A worker or script reads the primary: jobs act on what they read.
// Without DATABASE_READ_URL, dbRead is the primary's Kysely.

/** After the replica refused a connection, how long its reads go to the primary before trying it again. */
export const REPLICA_RETRY_MS = 5000

/**
 * The replica's connections, or the primary's while the replica cannot be reached: a replica
 * that is down slows nothing and fails nothing (the reads it served load the primary instead).
 */
function replicaOrPrimary (replica: pg.Pool, primary: pg.Pool, onUnreachable: ConnectionErrorListener): PostgresPool {
  let retryAt = 0
  return {
    connect: async () => {
      if (performance.now() >= retryAt) {
        try {
          return await replica.connect()
        } catch (err) {
          retryAt = performance.now() + REPLICA_RETRY_MS
          onUnreachable(err as Error)
        }
      }
      return primary.connect()
    },
    end: () => replica.end()
  }
}

/** The read replica's database when DATABASE_READ_URL is set; `destroy` ends the replica's pool only. */
export function createReadDatabase (config: PoolConfig & Pick<Config, 'databaseReadUrl'>, primary: Database, onQuery?: QueryListener,
  onConnectionError?: ConnectionErrorListener, onUnreachable: ConnectionErrorListener = () => {}): Database | null {
  if (config.databaseReadUrl === undefined) return null
  const pool = createPool({ ...config, databaseUrl: config.databaseReadUrl }, onConnectionError)
  const db = kysely(replicaOrPrimary(pool, primary.pool, onUnreachable), 'replica', onQuery)
  return { db, pool, destroy: () => db.destroy() }
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
  const replica = createReadDatabase(app.config, database, options.onQuery, lost,
    (err) => app.log.warn({ err: err.message }, `the read replica cannot be reached; its reads go to the primary for ${REPLICA_RETRY_MS} ms`))
  app.decorate('db', database.db)
  app.decorate('dbRead', replica?.db ?? database.db)
  app.decorate('pgPool', database.pool)
  app.addHook('onClose', async () => {
    await replica?.destroy()
    await database.destroy()
  })
}, { name: 'db', dependencies: ['config'] })

declare module 'fastify' {
  interface FastifyInstance {
    db: Db
    /** Lag-tolerant reads only (see above): the read replica's Kysely, or `db` without one. */
    dbRead: Db
    pgPool: pg.Pool
  }
}
