import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { UnrecoverableError } from 'bullmq'
import nodemailer, { type Transporter } from 'nodemailer'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.ts'
import type { Sealer } from './crypto.ts'
import type { Queryable } from './db.ts'
import { addToOutbox } from './outbox.ts'
import type { EmailJob, Queues } from './queues.ts'

// Email: each domain defines the templates it sends (defineTemplate) and enqueues them by
// template object, so the variables are typed; the worker, which alone knows every template,
// renders them and sends through SMTP, or, in development without SMTP_URL, writes .eml files
// to the mail outbox folder.

export interface RenderedEmail { subject: string, text: string, html: string }

export interface EmailTemplate<Vars> {
  /** Stable: queued jobs and outbox rows name their template by it. */
  readonly name: string
  render: (vars: Vars) => RenderedEmail
}

export function defineTemplate<Vars> (name: string, render: (vars: Vars) => RenderedEmail): EmailTemplate<Vars> {
  return { name, render }
}

/** The worker's lookup of every template by name; two templates with one name are a bug. */
export function templateRegistry (...templates: ReadonlyArray<EmailTemplate<any>>): Record<string, EmailTemplate<any>> {
  const byName: Record<string, EmailTemplate<any>> = {}
  for (const template of templates) {
    // Modules hand in their emails.ts wholesale: anything else exported there is a mistake.
    if (typeof template?.name !== 'string' || typeof template.render !== 'function') throw new Error('not an email template: define it with defineTemplate')
    if (byName[template.name]) throw new Error(`two email templates are named ${template.name}`)
    byName[template.name] = template
  }
  return byName
}

/** Queues an email now (codes and links whose state lives in Redis anyway). */
export async function enqueueEmail<Vars> (deps: { queues: Queues, sealer: Sealer }, template: EmailTemplate<Vars>, to: string, vars: Vars): Promise<void> {
  await deps.queues.email.add(template.name, sealEmail(deps.sealer, template.name, { to, vars: vars as Record<string, unknown> }))
}

/** Writes an email to the outbox in the caller's transaction (SPEC 9): it exists iff the change does. */
export async function emailInTransaction<Vars> (trx: Queryable, sealer: Sealer, template: EmailTemplate<Vars>, to: string, vars: Vars): Promise<void> {
  await addToOutbox(trx, 'email', template.name, sealEmail(sealer, template.name, { to, vars: vars as Record<string, unknown> }))
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Tagged template for HTML parts: every interpolated value is escaped. */
export function html (strings: TemplateStringsArray, ...values: unknown[]): string {
  return strings.reduce((out, part, i) =>
    out + part + (i < values.length ? String(values[i] ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!) : ''), '')
}

/** Wraps an HTML body in the common layout. */
export function layout (title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${html`${title}`}</title></head>` +
    `<body style="font-family:system-ui,sans-serif;max-width:560px;margin:auto;padding:24px;color:#222">${body}` +
    '<p style="color:#888;font-size:12px">Bazaar</p></body></html>'
}

export interface OutgoingEmail { to: string, vars: Record<string, unknown> }

/** The queue payload for an email: recipient and variables sealed so Redis never sees them. */
export function sealEmail (sealer: Sealer, template: string, email: OutgoingEmail): EmailJob {
  return { template, sealed: sealer.seal(email, 'email') }
}

export function openEmail (sealer: Sealer, job: EmailJob): OutgoingEmail {
  return sealer.open<OutgoingEmail>(job.sealed, 'email')
}

/**
 * A send failure fit to be kept: BullMQ stores a failed job's message and stack in Redis, and
 * the worker logs it. SMTP errors quote the recipient and the server's transcript, so only the
 * error's class survives: its code, SMTP command and reply code. A recipient the server refuses
 * for good (5xx on RCPT TO) is not retried.
 */
export function scrubbedSendError (err: unknown): Error {
  const e = err as { code?: unknown, command?: unknown, responseCode?: unknown }
  const code = typeof e.code === 'string' && /^[A-Z_]{1,40}$/.test(e.code) ? e.code : 'ESEND'
  const command = typeof e.command === 'string' && /^[A-Z ]{1,20}$/.test(e.command) ? e.command.trim() : undefined
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined
  const message = `email send failed: ${code}${command ? ` on ${command}` : ''}${reply ? ` (SMTP ${reply})` : ''}`
  const permanent = reply !== undefined && reply >= 500 && (code === 'EENVELOPE' || command === 'RCPT TO')
  const scrubbed = permanent ? new UnrecoverableError(message) : new Error(message)
  // The stack would repeat nothing personal, but its frames say nothing useful either.
  scrubbed.stack = `${scrubbed.name}: ${message}`
  return scrubbed
}

export interface Mailer {
  /** `id`: what names this message for good (a job's marker): it becomes the Message-ID. */
  send: (to: string, email: RenderedEmail, id?: string) => Promise<{ messageId: string }>
  close: () => void
}

// A message sent twice (a worker killed after the SMTP server's "250 OK" and before the job's
// sent marker was written) keeps one Message-ID, so mailboxes and mail clients that drop a
// duplicate Message-ID show it once. No SMTP exchange can rule out the second send itself.
function stableMessageId (mailFrom: string, id: string | undefined): { messageId: string } | Record<string, never> {
  if (id === undefined) return {}
  const domain = /@([^>\s]+)>?\s*$/.exec(mailFrom)?.[1] ?? 'bazaar.invalid'
  return { messageId: `<${id.replace(/[^\w.-]/g, '.')}@${domain}>` }
}

export function createMailer (config: Pick<Config, 'smtpUrl' | 'mailFrom' | 'mailDir'>, log: FastifyBaseLogger): Mailer {
  if (config.smtpUrl) {
    const transport: Transporter = nodemailer.createTransport(config.smtpUrl)
    return {
      async send (to, email, id) {
        const info = await transport.sendMail({ from: config.mailFrom, to, ...email, ...stableMessageId(config.mailFrom, id) })
        return { messageId: info.messageId }
      },
      close: () => transport.close()
    }
  }
  // No SMTP: keep the message as an .eml file a developer can open, and say where it is.
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
  return {
    async send (to, email, id) {
      const info = await transport.sendMail({ from: config.mailFrom, to, ...email, ...stableMessageId(config.mailFrom, id) })
      await mkdir(config.mailDir, { recursive: true })
      const file = join(config.mailDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${info.messageId.replace(/[^\w.-]/g, '')}.eml`)
      await writeFile(file, info.message as Buffer)
      // No recipient or subject in the log: subjects can carry names.
      log.info({ file }, 'email written to the mail outbox')
      return { messageId: info.messageId }
    },
    close: () => transport.close()
  }
}
