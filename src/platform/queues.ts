import fp from 'fastify-plugin'
import { Queue, type JobsOptions } from 'bullmq'
import type { RedisClient } from './redis.ts'
import { closeRedis, connectRedis, createRedis } from './redis.ts'
import { activeTracing } from './tracing.ts'

// Queue names and payload types, defined once for the API (producer) and the worker (consumer).
// Payloads carry ids; anything personal or secret travels sealed (see crypto.ts).

/** An email: the template name is public; recipient and variables are sealed. */
export interface EmailJob {
  template: string
  /** Sealer.seal({ to, vars }, 'email') */
  sealed: string
}

/** A text message: the job name says what for; number and text are sealed. */
export interface SmsJob {
  /** Sealer.seal({ to, text }, 'sms') */
  sealed: string
}

export interface JobPayloads {
  email: EmailJob
  sms: SmsJob
  'session-cleanup': Record<string, never>
  'order-expiry': { orderId?: string }
  outbox: Record<string, never>
  /** Storage keys of files whose record is gone. */
  files: { keys: string[] }
  /** A vendor transfer or a transfer reversal to make at the provider (issue 14); the sweep carries neither. */
  payouts: { transferId?: string, reversalId?: string }
}

export type QueueName = keyof JobPayloads
export const QUEUE_NAMES: readonly QueueName[] = ['email', 'sms', 'session-cleanup', 'order-expiry', 'outbox', 'files', 'payouts']

export type Queues = { [Q in QueueName]: Queue<JobPayloads[Q]> }

/** Retries with exponential backoff; failed jobs stay visible for a week. */
export const defaultJobOptions: JobsOptions = {
  attempts: 6,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 24 * 3600, count: 5000 },
  removeOnFail: { age: 7 * 24 * 3600 }
}

export function createQueues (connection: RedisClient, prefix: string, onError: (err: Error) => void = () => {}): Queues {
  // Traced, a job added during a request carries the request's trace context to its processing.
  const telemetry = activeTracing()?.bullmq
  const make = <Q extends QueueName>(name: Q) => {
    const queue = new Queue<JobPayloads[Q]>(name, { connection, prefix, defaultJobOptions, skipWaitingForReady: true, ...(telemetry ? { telemetry } : {}) })
    // Connection errors surface where a job is added; this keeps BullMQ from printing each one.
    queue.on('error', onError)
    return queue
  }
  return Object.fromEntries(QUEUE_NAMES.map((name) => [name, make(name)])) as unknown as Queues
}

export async function closeQueues (queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()))
}

export default fp(async (app) => {
  const connection = createRedis(app.config, 'queue-producer')
  await connectRedis(connection)
  const queues = createQueues(connection, app.config.queuePrefix, (err) => app.log.debug({ err: err.message }, 'queue connection error'))
  app.decorate('queues', queues)
  app.addHook('onClose', async () => {
    await closeQueues(queues)
    await closeRedis(connection)
  })
}, { name: 'queues', dependencies: ['config'] })

declare module 'fastify' {
  interface FastifyInstance {
    queues: Queues
  }
}
