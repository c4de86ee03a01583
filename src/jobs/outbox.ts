import type { Db } from '../platform/db.ts'
import { pruneOutbox, relayOutbox } from '../platform/outbox.ts'
import type { Queues } from '../platform/queues.ts'

export interface OutboxDeps { db: Db, queues: Queues }

/** Drains the outbox in batches until it is empty, then prunes old relayed rows now and then. */
export function createOutboxProcessor (deps: OutboxDeps) {
  let runs = 0
  return async (): Promise<{ relayed: number }> => {
    let relayed = 0
    for (let batch = await relayOutbox(deps.db, deps.queues); batch > 0; batch = await relayOutbox(deps.db, deps.queues)) {
      relayed += batch
    }
    if (++runs % 600 === 1) await pruneOutbox(deps.db)
    return { relayed }
  }
}
