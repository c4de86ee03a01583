import type { EmailTemplate } from './platform/mail.ts'
import { sealEmail } from './platform/mail.ts'
import { addToOutbox } from './platform/outbox.ts'
import type { Queryable } from './platform/db.ts'
import type { Sealer } from './platform/crypto.ts'
import type { Queues } from './platform/queues.ts'
import { authEmails } from './modules/auth/emails.ts'
import { workspaceEmails } from './modules/workspaces/emails.ts'
import { vendorProfileEmails } from './modules/vendor-profiles/emails.ts'
import { orderEmails } from './modules/orders/emails.ts'

// Every email the system sends, by template name. Domains define their templates in their own
// emails.ts; the worker renders them, the API enqueues them by name with typed variables.
export const emailTemplates = {
  ...authEmails,
  ...workspaceEmails,
  ...vendorProfileEmails,
  ...orderEmails
} satisfies Record<string, EmailTemplate<any>>

export type EmailTemplates = typeof emailTemplates
export type TemplateName = keyof EmailTemplates
export type TemplateVars<T extends TemplateName> = EmailTemplates[T] extends EmailTemplate<infer V> ? V : never

/** Queues an email now (codes and links whose state lives in Redis anyway). */
export async function enqueueEmail<T extends TemplateName> (deps: { queues: Queues, sealer: Sealer }, template: T, to: string, vars: TemplateVars<T>): Promise<void> {
  await deps.queues.email.add(template, sealEmail(deps.sealer, template, { to, vars: vars as Record<string, unknown> }))
}

/** Writes an email to the outbox in the caller's transaction (SPEC 9): it exists iff the change does. */
export async function emailInTransaction<T extends TemplateName> (trx: Queryable, sealer: Sealer, template: T, to: string, vars: TemplateVars<T>): Promise<void> {
  await addToOutbox(trx, 'email', template, sealEmail(sealer, template, { to, vars: vars as Record<string, unknown> }))
}
