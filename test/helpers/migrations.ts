import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { createMigrator, describe } from '../../src/platform/migrator.ts'
import type { Tap } from './app.ts'
import { createEmptyDatabase } from './database.ts'

/**
 * For a migration's test: an empty database migrated up to `migration` (the one before those
 * tested), a migrator to go on with, and an untyped client (the schema is not today's). All
 * closed and dropped in teardown.
 */
export async function databaseMigratedTo (t: Tap, migration: string) {
  const database = await createEmptyDatabase()
  t.teardown(() => database.drop())
  const { migrator, close } = createMigrator(database.url)
  t.teardown(close)
  describe(await migrator.migrateTo(migration))
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 2 }) }) })
  t.teardown(() => db.destroy())
  return { db, migrator }
}
