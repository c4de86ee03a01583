import { randomUUID } from 'node:crypto'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import t from 'tap'
import { createEmptyDatabase } from '../helpers/database.ts'
import { createMigrator, describe } from '../../src/platform/migrator.ts'
import { locationSourceOf } from '../../src/modules/sessions/views.ts'

// Issue 15, item 1: sessions get a city and a locationSource. Before it, only a trusted proxy's
// headers could give a session a country, so the sessions that have one were placed by it: that
// is derived when a row is read, not written into every old row under the migration's lock.

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

  const versions = async () => (await sql<{ id: string, xmin: string, file: string }>`select id, xmin::text, pg_relation_filenode('sessions')::text as file from sessions order by id`.execute(db)).rows
  const before = await versions()

  t.same(describe(await migrator.migrateTo(MIGRATION)), [`applied ${MIGRATION}`])
  // The migration holds an exclusive lock on sessions until it commits: it must not rewrite or
  // update rows under it (a backfill of a million rows took seconds). Old rows keep their version.
  t.same(await versions(), before, 'no row written, no table rewrite')
  const rows = await db.selectFrom('sessions').select(['id', 'city', 'location_source', 'country_code']).execute()
  t.same(Object.fromEntries(rows.map((r) => [r.id, [r.city, r.location_source]])), { [placed]: [null, null], [unplaced]: [null, null] }, 'older rows have no source recorded')
  t.same(Object.fromEntries(rows.map((r) => [r.id, locationSourceOf(r.location_source, r.country_code)])), { [placed]: 'proxy', [unplaced]: 'none' },
    'read as proxy when they have a country (only a trusted proxy could set one then), else none')
  await t.rejects(db.updateTable('sessions').set({ location_source: 'gps' }).where('id', '=', placed).execute(), /location_source/, 'only the four sources')
  await db.updateTable('sessions').set({ location_source: 'ip' }).where('id', '=', placed).execute()

  t.same(describe(await migrator.migrateTo(BEFORE)), [`reverted ${MIGRATION}`], 'it reverts')
})
