import { sql, type Kysely } from 'kysely'

// Phones that signed in by SMS (issue 15, item 3): a phone proves itself with a code, like an
// email, and only a verified phone receives sign-in codes. One live account holds a verified
// number at a time, so a code sent to it names one account.
export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('phone_verified_at', 'timestamptz').execute()
  await sql`create unique index users_verified_phone on users (phone) where phone_verified_at is not null and deleted_at is null`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop index users_verified_phone`.execute(db)
  await db.schema.alterTable('users').dropColumn('phone_verified_at').execute()
}
