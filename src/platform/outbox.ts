import { sql } from 'kysely'
import type { Db, Queryable } from './db.ts'
import type { JobPayloads, QueueName, Queues } from './queues.ts'
import { newId } from './clock.ts'
import { currentTraceparent, jobTraceOptions } from './tracing.ts'

// Transactional outbox (SPEC 9): a message caused by a database change is inserted in the
// caller's transaction, so it exists exactly when the change does; the worker's relay moves
// it to BullMQ later, so a Redis outage at commit time loses nothing. A row keeps the trace
// context it was written in (tracing on), and its job is processed in that trace.

export async function addToOutbox<Q extends QueueName> (trx: Queryable, queue: Q, jobName: string, payload: JobPayloads[Q]): Promise<string> {
  const id = newId()
  await trx.insertInto('outbox').values({ id, queue, jobName, payload: JSON.stringify(payload), traceparent: currentTraceparent() }).execute()
  return id
}

/** A message for the outbox, typed by its queue. */
export type OutboxMessage = { [Q in QueueName]: { queue: Q, jobName: string, payload: JobPayloads[Q] } }[QueueName]

/**
 * Several messages as one insert, for the caller to run in its transaction: alone, or as a CTE
 * of a larger statement (`.with('mail', () => outboxInsert(trx, messages))`), so the messages
 * of a change cost no round trip of their own. Ids grow in list order, the relay's order.
 */
export function outboxInsert (db: Queryable, messages: OutboxMessage[]) {
  if (messages.length === 0) throw new Error('outboxInsert: no messages')
  const traceparent = currentTraceparent()
  return db.insertInto('outbox').values(messages.map((m) => ({ id: newId(), queue: m.queue, jobName: m.jobName, payload: JSON.stringify(m.payload), traceparent })))
}

/**
 * Moves up to `batchSize` pending rows to their queues and marks them relayed, in one
 * transaction. Rows are locked with SKIP LOCKED so concurrent relays take disjoint batches; the
 * row id is the BullMQ job id, so a batch re-sent after a failed commit is not queued twice.
 */
export async function relayOutbox (db: Db, queues: Queues, batchSize = 100): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx.selectFrom('outbox')
      .select(['id', 'queue', 'jobName', 'payload', 'traceparent'])
      .where('relayedAt', 'is', null)
      .orderBy('createdAt').orderBy('id')
      .limit(batchSize)
      .forUpdate().skipLocked()
      .execute()
    if (rows.length === 0) return 0
    const byQueue = new Map<QueueName, typeof rows>()
    for (const row of rows) {
      const name = row.queue as QueueName
      if (!(name in queues)) throw new Error(`outbox row ${row.id} names unknown queue ${row.queue}`)
      byQueue.set(name, [...(byQueue.get(name) ?? []), row])
    }
    for (const [name, batch] of byQueue) {
      await queues[name].addBulk(batch.map((row) => ({ name: row.jobName, data: row.payload as never, opts: { jobId: `outbox-${row.id}`, ...jobTraceOptions(row.traceparent) } })))
    }
    await trx.updateTable('outbox').set({ relayedAt: sql`now()` }).where('id', 'in', rows.map((r) => r.id)).execute()
    return rows.length
  })
}

/** Relayed rows are history; keep a week for audits, then drop them. */
export async function pruneOutbox (db: Db, olderThanDays = 7): Promise<number> {
  const result = await db.deleteFrom('outbox')
    .where('relayedAt', '<', sql<Date>`now() - make_interval(days => ${olderThanDays})`)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
