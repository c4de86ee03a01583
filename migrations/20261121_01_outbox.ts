import { sql, type Kysely } from 'kysely'

// Messages caused by a database change are written here in the same transaction as the change;
// the worker's relay moves them to their queue (SPEC 9).
export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('outbox')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('queue', 'text', (c) => c.notNull())
    .addColumn('job_name', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('relayed_at', 'timestamptz')
    .execute()
  await sql`create index outbox_pending on outbox (created_at, id) where relayed_at is null`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('outbox').execute()
}
