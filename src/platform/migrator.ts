import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { FileMigrationProvider, Kysely, Migrator, PostgresDialect, type MigrationResultSet } from 'kysely'
import { createPool } from './db.ts'

// Relative to this file: the source finds migrations/*.ts, the compiled build (dist/src/platform/)
// finds dist/migrations/*.js. Kysely names a migration by its file name without the extension,
// so a database migrated by either is up to date for the other.
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url))

/** Migrations run on a plain Kysely<any> (no camel-case plugin): they speak SQL names. */
export function createMigrator (databaseUrl: string): { migrator: Migrator, close: () => Promise<void> } {
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: createPool({ databaseUrl, databasePoolMax: 2 }) }) })
  const migrator = new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR })
  })
  return { migrator, close: () => db.destroy() }
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
