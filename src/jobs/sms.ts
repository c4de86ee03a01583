import { UnrecoverableError, type Job } from 'bullmq'
import type { FastifyBaseLogger } from 'fastify'
import type { Sealer } from '../platform/crypto.ts'
import type { SmsJob } from '../platform/queues.ts'
import type { RedisClient } from '../platform/redis.ts'
import { forQueue, openSms, type SmsSender } from '../platform/sms.ts'

export interface SmsDeps {
  sealer: Sealer
  sender: SmsSender
  /** Our keys (REDIS_PREFIX): where the sent markers live. */
  redis: RedisClient
  log: FastifyBaseLogger
}

// As for emails (jobs/email.ts): a job retried after its text went out (a worker killed between
// Twilio's 201 and the job's completion) must not send it again, so a marker per job is set once
// the provider took it and checked before sending; a BullMQ counter id goes with its timestamp.
const SENT_MARKER_MS = 8 * 24 * 3600 * 1000
const sentKey = (job: Job<SmsJob>) => `sms:sent:${job.id}:${job.timestamp}`

/** Opens the sealed number and text and sends them (once per job); failures are retried with backoff. */
export function createSmsProcessor (deps: SmsDeps) {
  return async (job: Job<SmsJob>): Promise<{ id: string, alreadySent?: true }> => {
    const marker = sentKey(job)
    const previous = await deps.redis.get(marker)
    if (previous !== null) return { id: previous, alreadySent: true }
    let sms
    try {
      sms = openSms(deps.sealer, job.data)
    } catch {
      throw new UnrecoverableError('sms payload cannot be opened (sealed under another key, or corrupt)')
    }
    let sent
    try {
      sent = await deps.sender.send(sms.to, sms.text)
    } catch (err) {
      throw forQueue(err)
    }
    await deps.redis.set(marker, sent.id, 'PX', SENT_MARKER_MS).catch((err: Error) => {
      deps.log.warn({ jobId: job.id, err: err.message }, 'could not record that the SMS was sent')
    })
    // The provider's message id, never the number or the text.
    deps.log.info({ jobId: job.id, purpose: job.name, providerId: sent.id }, 'SMS sent')
    return sent
  }
}
