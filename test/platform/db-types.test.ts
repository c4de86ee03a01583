import { readFile } from 'node:fs/promises'
import t from 'tap'
import { DB_TYPES_FILE, generateDbTypes } from '../../scripts/db-types.ts'
import { createEmptyDatabase, createTestDatabase } from '../helpers/database.ts'
import { createMigrator, describe } from '../../src/platform/migrator.ts'

t.test('the committed database types match the migrated schema', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const generated = await generateDbTypes(database.url)
  const committed = await readFile(DB_TYPES_FILE, 'utf8')
  t.equal(committed, generated, 'src/platform/db-types.ts is stale: run `npm run db:types`')
})

t.test('every migration goes down and up again cleanly', async (t) => {
  const database = await createEmptyDatabase()
  t.teardown(() => database.drop())
  const { migrator, close } = createMigrator(database.url)
  t.teardown(close)
  const up = describe(await migrator.migrateToLatest())
  t.ok(up.length > 0, 'migrations were applied')
  const all = await migrator.getMigrations()
  for (let i = 0; i < all.length; i++) describe(await migrator.migrateDown())
  t.ok((await migrator.getMigrations()).every((m) => !m.executedAt), 'all reverted')
  t.same(describe(await migrator.migrateToLatest()), up, 'and re-applied in the same order')
})
