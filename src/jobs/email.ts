import { UnrecoverableError, type Job } from 'bullmq'
import type { FastifyBaseLogger } from 'fastify'
import type { Sealer } from '../platform/crypto.ts'
import { openEmail, type EmailTemplate, type Mailer } from '../platform/mail.ts'
import type { EmailJob } from '../platform/queues.ts'

export interface EmailDeps {
  sealer: Sealer
  mailer: Mailer
  templates: Record<string, EmailTemplate<any>>
  log: FastifyBaseLogger
}

/** Opens the sealed recipient and variables, renders the template, sends. */
export function createEmailProcessor (deps: EmailDeps) {
  return async (job: Job<EmailJob>): Promise<{ messageId: string }> => {
    const template = deps.templates[job.data.template]
    // Neither retrying an unknown template nor a payload sealed under another key can succeed.
    if (!template) throw new UnrecoverableError(`unknown email template ${job.data.template}`)
    let email
    try {
      email = openEmail(deps.sealer, job.data)
    } catch (err) {
      throw new UnrecoverableError(`email payload cannot be opened: ${(err as Error).message}`)
    }
    const sent = await deps.mailer.send(email.to, template.render(email.vars))
    deps.log.info({ jobId: job.id, template: job.data.template }, 'email sent')
    return sent
  }
}
