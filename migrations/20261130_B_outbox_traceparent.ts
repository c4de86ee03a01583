import type { Kysely } from 'kysely'

// The W3C traceparent of the span that wrote an outbox row (null with tracing off): the relay
// hands it to the job it queues, so the job's processing shows in the trace of the request
// that caused it (platform/tracing.ts).
export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('outbox').addColumn('traceparent', 'text').execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('outbox').dropColumn('traceparent').execute()
}
