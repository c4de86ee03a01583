import type { EmailTemplate } from './platform/mail.ts'

// Every email the system sends, by template name. Domains define their templates in their own
// emails.ts; the worker renders them, the API enqueues them by name with typed variables.
export const emailTemplates = {
} satisfies Record<string, EmailTemplate<any>>

export type EmailTemplates = typeof emailTemplates
export type TemplateName = keyof EmailTemplates
export type TemplateVars<T extends TemplateName> = EmailTemplates[T] extends EmailTemplate<infer V> ? V : never
