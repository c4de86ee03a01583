import { createHash } from 'node:crypto'
import fp from 'fastify-plugin'
import pg from 'pg'
import { CamelCasePlugin, Kysely, PostgresDialect, sql, type LogEvent, type Transaction } from 'kysely'
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

/** Called with each statement's SQL once it has run (tests and benchmarks count statements). */
export type QueryListener = (sql: string) => void

export function createDatabase (config: Pick<Config, 'databaseUrl' | 'databasePoolMax'> & Partial<Pick<Config, 'databasePreparedStatements'>>, onQuery?: QueryListener, onConnectionError?: ConnectionErrorListener): Database {
  const pool = createPool(config, onConnectionError)
  const db = new Kysely<DB>({
    dialect: new PostgresDialect({ pool }),
    plugins: [new CamelCasePlugin()],
    ...(onQuery ? { log: (event: LogEvent) => onQuery(event.query.sql) } : {})
  })
  return { db, pool, destroy: () => db.destroy() }
}

/** Round-trip time of a trivial statement, in milliseconds. */
export async function pingDatabase (db: Kysely<any>): Promise<number> {
  const started = performance.now()
  await sql`select 1`.execute(db)
  return Math.round((performance.now() - started) * 100) / 100
}

export default fp(async (app, options: { onQuery?: QueryListener }) => {
  const database = createDatabase(app.config, options.onQuery, (err) => app.log.warn({ err: err.message }, 'a postgres connection was lost'))
  app.decorate('db', database.db)
  app.decorate('pgPool', database.pool)
  app.addHook('onClose', () => database.destroy())
}, { name: 'db', dependencies: ['config'] })

declare module 'fastify' {
  interface FastifyInstance {
    db: Db
    pgPool: pg.Pool
  }
}
