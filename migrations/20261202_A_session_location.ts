import { sql, type Kysely } from 'kysely'

// Where a session is (issue 15, item 1): the city, and what placed it (a trusted proxy's headers,
// the client's analytics, the in-process IP database, or nothing). Before this, only a trusted
// proxy could set a country: sessions that have one were placed by it.
export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions')
    .addColumn('city', 'text')
    .addColumn('location_source', 'text', (c) => c.notNull().defaultTo('none').check(sql`location_source in ('proxy', 'client', 'ip', 'none')`))
    .execute()
  await sql`update sessions set location_source = 'proxy' where country_code is not null`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('location_source').dropColumn('city').execute()
}
