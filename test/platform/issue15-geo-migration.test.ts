import { randomUUID } from 'node:crypto'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import t from 'tap'
import { createEmptyDatabase } from '../helpers/database.ts'
import { createMigrator, describe } from '../../src/platform/migrator.ts'

// Issue 15, item 1: sessions get a city and a locationSource. Before it, only a trusted proxy's
// headers could give a session a country, so the sessions that have one were placed by it.

const BEFORE = '20261201_B_order_audit'
const MIGRATION = '20261202_A_session_location'

t.test('existing sessions with a country were placed by the proxy; the others by nothing', async (t) => {
  const database = await createEmptyDatabase()
  const { migrator, close } = createMigrator(database.url)
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 2 }) }) })
  // Our connections close before the database is dropped (a drop ends them, and an idle one then errors).
  t.teardown(async () => {
    await db.destroy()
    await close()
    await database.drop()
  })
  describe(await migrator.migrateTo(BEFORE))
  const user = randomUUID()
  await db.insertInto('users').values({ id: user, email: `${user}@example.test`, name: 'Someone', type: 'customer', status: 'active' }).execute()
  const [placed, unplaced] = [randomUUID(), randomUUID()]
  const now = new Date()
  for (const [id, countryCode] of [[placed, 'FR'], [unplaced, null]]) {
    await db.insertInto('sessions').values({ id, user_id: user, session_type: 'web', auth_method: 'password', country_code: countryCode, created_at: now, last_seen_at: now, expires_at: now }).execute()
  }

  t.same(describe(await migrator.migrateTo(MIGRATION)), [`applied ${MIGRATION}`])
  const rows = await db.selectFrom('sessions').select(['id', 'city', 'location_source']).execute()
  t.same(Object.fromEntries(rows.map((r) => [r.id, [r.city, r.location_source]])), { [placed]: [null, 'proxy'], [unplaced]: [null, 'none'] })
  await t.rejects(db.updateTable('sessions').set({ location_source: 'gps' }).where('id', '=', placed).execute(), /location_source/, 'only the four sources')

  t.same(describe(await migrator.migrateTo(BEFORE)), [`reverted ${MIGRATION}`], 'it reverts')
})
