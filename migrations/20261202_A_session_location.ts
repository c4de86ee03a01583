import { sql, type Kysely } from 'kysely'

// Where a session is (issue 15, item 1): the city, and what placed it (a trusted proxy's headers,
// the client's analytics, the in-process IP database, or nothing). Before this, only a trusted
// proxy could set a country: an older row (location_source null) is read as placed by it when it
// has a country, else by nothing (sessions/views.ts), rather than updated here.
// Every migration of a run shares one transaction, so the exclusive lock this ALTER takes lasts
// until the run commits: nothing below may scan or write the table. Both columns are catalog
// changes; the check is NOT VALID because validating it would scan every row, and every existing
// row holds null there, which it allows; new writes are checked.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`
    alter table sessions
      add column city text,
      add column location_source text,
      add constraint sessions_location_source_check check (location_source in ('proxy', 'client', 'ip', 'none')) not valid`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('location_source').dropColumn('city').execute()
}
