import { UnrecoverableError, type Job } from 'bullmq'
import type { FastifyBaseLogger } from 'fastify'
import type { RedisClient } from '../platform/redis.ts'
import type { Sealer } from '../platform/crypto.ts'
import { openEmail, scrubbedSendError, type EmailTemplate, type Mailer } from '../platform/mail.ts'
import type { EmailJob } from '../platform/queues.ts'
import { defineCounter, type Metrics } from '../platform/metrics.ts'

export interface EmailDeps {
  sealer: Sealer
  mailer: Mailer
  templates: Record<string, EmailTemplate<any>>
  /** Our keys (REDIS_PREFIX): where the sent markers live. */
  redis: RedisClient
  log: FastifyBaseLogger
  /** Where sends are counted (the worker's registry). */
  metrics?: Metrics
}

export const emailOutcomes = defineCounter({
  name: 'bazaar_emails_total',
  help: 'Emails by template and outcome: sent (the SMTP server took it), failed (a send attempt that did not get through; retried unless the server refused the recipient)',
  labelNames: ['template', 'outcome']
})

/**
 * A job retried after its message went out (a worker killed between the SMTP server's "250 OK"
 * and the job's completion, a stalled lock) must not send it again: a marker per message, set
 * once the send completed, checked before sending. Kept longer than any retry schedule. An id we
 * chose (`outbox-<row id>`) names one message for good, even re-queued; a number from BullMQ's
 * counter does not (the counter starts again at 1 when a queue is emptied, and a new code must
 * not pass for an old one), so it goes with the job's creation time (retries keep both).
 */
const SENT_MARKER_MS = 8 * 24 * 3600 * 1000
const sentKey = (job: Job<EmailJob>) => `mail:sent:${/^\d+$/.test(job.id!) ? `${job.id}:${job.timestamp}` : job.id}`

/** Opens the sealed recipient and variables, renders the template, sends (once per job). */
export function createEmailProcessor (deps: EmailDeps) {
  return async (job: Job<EmailJob>): Promise<{ messageId: string, alreadySent?: true }> => {
    const template = deps.templates[job.data.template]
    // Neither retrying an unknown template nor a payload sealed under another key can succeed.
    // Error texts are stored by BullMQ in Redis: they name no recipient and quote no payload.
    if (!template) throw new UnrecoverableError(`unknown email template ${job.data.template}`)
    const marker = job.id ? sentKey(job) : null
    const previous = marker ? await deps.redis.get(marker) : null
    if (previous !== null) {
      deps.log.info({ jobId: job.id, template: job.data.template }, 'email already sent by an earlier attempt; not sending again')
      return { messageId: previous, alreadySent: true }
    }
    let email
    try {
      email = openEmail(deps.sealer, job.data)
    } catch {
      throw new UnrecoverableError('email payload cannot be opened (sealed under another key, or corrupt)')
    }
    let sent
    try {
      // The Message-ID is a keyed hash of the marker: stable across resends, and naming no job count or time.
      sent = await deps.mailer.send(email.to, template.render(email.vars), marker ? deps.sealer.secretHash(marker).slice(0, 32) : undefined)
    } catch (err) {
      deps.metrics?.count(emailOutcomes, { template: job.data.template, outcome: 'failed' })
      throw scrubbedSendError(err)
    }
    deps.metrics?.count(emailOutcomes, { template: job.data.template, outcome: 'sent' })
    if (marker) {
      // Best effort: failing to record it must not fail (and so resend) a message that went out.
      await deps.redis.set(marker, sent.messageId, 'PX', SENT_MARKER_MS).catch((err: Error) => {
        deps.log.warn({ jobId: job.id, err: err.message }, 'could not record that the email was sent')
      })
    }
    deps.log.info({ jobId: job.id, template: job.data.template }, 'email sent')
    return sent
  }
}
