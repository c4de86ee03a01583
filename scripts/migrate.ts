import { NO_MIGRATIONS } from 'kysely'
import { createMigrator, describe } from '../src/platform/migrator.ts'
import { loadDevConfig } from './lib/dev-env.ts'

// npm run migrate [-- up | down | status]: applies migrations to DATABASE_URL.

const command = process.argv[2] ?? 'up'
const config = loadDevConfig()
const { migrator, close } = createMigrator(config.databaseUrl)

try {
  if (command === 'up') {
    const lines = describe(await migrator.migrateToLatest())
    console.log(lines.length ? lines.join('\n') : 'nothing to apply: the database is up to date')
  } else if (command === 'down') {
    const lines = describe(await migrator.migrateDown())
    console.log(lines.length ? lines.join('\n') : 'nothing to revert')
  } else if (command === 'down-all') {
    console.log(describe(await migrator.migrateTo(NO_MIGRATIONS)).join('\n') || 'nothing to revert')
  } else if (command === 'status') {
    for (const m of await migrator.getMigrations()) {
      console.log(`${m.executedAt ? `applied ${m.executedAt.toISOString()}` : 'pending                          '}  ${m.name}`)
    }
  } else {
    console.error(`unknown command "${command}": use up, down, down-all or status`)
    process.exitCode = 2
  }
} catch (err) {
  console.error((err as Error).message)
  process.exitCode = 1
} finally {
  await close()
}
