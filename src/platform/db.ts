import fp from 'fastify-plugin'
import pg from 'pg'
import { CamelCasePlugin, Kysely, PostgresDialect, sql, type LogEvent, type Transaction } from 'kysely'
import type { DB } from './db-types.ts'
import type { Config } from '../config.ts'

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

export function createPool (config: Pick<Config, 'databaseUrl' | 'databasePoolMax'>, onConnectionError: ConnectionErrorListener = () => {}): pg.Pool {
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
  pool.on('connect', (client) => {
    client.on('error', onConnectionError)
  })
  pool.on('error', onConnectionError)
  return pool
}

/** Called with each statement's SQL once it has run (tests and benchmarks count statements). */
export type QueryListener = (sql: string) => void

export function createDatabase (config: Pick<Config, 'databaseUrl' | 'databasePoolMax'>, onQuery?: QueryListener, onConnectionError?: ConnectionErrorListener): Database {
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
