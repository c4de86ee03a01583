import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { FileMigrationProvider, Kysely, Migrator, PostgresAdapter, PostgresDialect, sql, type MigrationInfo, type MigrationResultSet, type NoMigrations, type PostgresPool, type PostgresPoolClient } from 'kysely'
import type { PoolClient } from 'pg'
import { createPool } from './db.ts'

// Relative to this file: the source finds migrations/*.ts, the compiled build (dist/src/platform/)
// finds dist/migrations/*.js. Kysely names a migration by its file name without the extension,
// so a database migrated by either is up to date for the other.
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url))

// Kysely's migration lock is a session-level advisory lock taken before its transaction and
// released after it. Through PgBouncer in transaction mode each of those statements may run on
// another backend: the unlock misses and the lock stays held by a pooled connection, blocking
// the next run. So a run is one transaction of ours on one connection (PgBouncer keeps a
// transaction on one backend), locked with the transaction-scoped form of Kysely's own lock id.
const KYSELY_LOCK_ID = '3853314791062309107'

class TransactionLockAdapter extends PostgresAdapter {
  override async acquireMigrationLock (): Promise<void> {}
  override async releaseMigrationLock (): Promise<void> {}
}

class OneTransactionDialect extends PostgresDialect {
  override createAdapter (): PostgresAdapter { return new TransactionLockAdapter() }
}

/** A pool of the one checked-out client: Kysely's statements run in the transaction it is in. */
function poolOf (client: PoolClient): PostgresPool {
  const borrowed = { query: client.query.bind(client), release: () => {} } as unknown as PostgresPoolClient
  return { connect: async () => borrowed, end: async () => {} }
}

export interface MigrationRunner {
  migrateToLatest: () => Promise<MigrationResultSet>
  migrateDown: () => Promise<MigrationResultSet>
  migrateTo: (target: string | NoMigrations) => Promise<MigrationResultSet>
  getMigrations: () => Promise<readonly MigrationInfo[]>
}

/** Migrations run on a plain Kysely<any> (no camel-case plugin): they speak SQL names. */
export function createMigrator (databaseUrl: string): { migrator: MigrationRunner, close: () => Promise<void> } {
  // Unnamed statements: a migration runs each once, and named ones would break behind a pooler
  // that cannot carry them (the app's DATABASE_PREPARED_STATEMENTS=false).
  const pool = createPool({ databaseUrl, databasePoolMax: 1, databasePreparedStatements: false })
  const provider = new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR })

  async function inOneTransaction<T> (run: (migrator: Migrator) => Promise<T>): Promise<T> {
    const client = await pool.connect()
    let broken = false
    try {
      await client.query('begin')
      const db = new Kysely<any>({ dialect: new OneTransactionDialect({ pool: poolOf(client) }) })
      await sql`select pg_advisory_xact_lock(${sql.lit(KYSELY_LOCK_ID)}::bigint)`.execute(db)
      const result = await run(new Migrator({ db, provider, disableTransactions: true }))
      await client.query((result as Partial<MigrationResultSet>).error ? 'rollback' : 'commit')
      return result
    } catch (err) {
      await client.query('rollback').catch(() => { broken = true })
      throw err
    } finally {
      client.release(broken)
    }
  }

  const migrator: MigrationRunner = {
    migrateToLatest: () => inOneTransaction((m) => m.migrateToLatest()),
    migrateDown: () => inOneTransaction((m) => m.migrateDown()),
    migrateTo: (target) => inOneTransaction((m) => m.migrateTo(target)),
    getMigrations: () => inOneTransaction((m) => m.getMigrations())
  }
  return { migrator, close: () => pool.end() }
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrateToLatest (databaseUrl: string): Promise<string[]> {
  const { migrator, close } = createMigrator(databaseUrl)
  try {
    return describe(await migrator.migrateToLatest())
  } finally {
    await close()
  }
}

export function describe ({ error, results }: MigrationResultSet): string[] {
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${(error as Error).message}`, { cause: error })
  }
  return (results ?? []).map((r) => `${r.direction === 'Up' ? 'applied' : 'reverted'} ${r.migrationName}`)
}
