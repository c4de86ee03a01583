import { readdir, readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ParsedMail } from 'mailparser'
import { NotFound, notFoundHandler } from './errors.ts'
import { html } from './mail.ts'

// Development without SMTP_URL: the worker writes each email to config.mailDir as an .eml file
// (mail.ts). GET /dev/mail lists them, newest first, and /dev/mail/:id (or /dev/mail/latest)
// shows one: as a page in a browser, as plain text to curl. Registered only when
// config.mailPreview (development without SMTP_URL; never in production), hidden from the API
// document, and answered only to this machine: the messages hold sign-in codes and links.

const LISTED = 100
const MessageId = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,200}$' })

// The message is our own template's HTML, but is rendered as if it were anyone's: no scripts,
// no requests (images inline only), no forms, in a sandbox of its own.
const MESSAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox"
const LIST_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

interface Summary { id: string, date: string, from: string, to: string, subject: string }

const addresses = (field: ParsedMail['to']): string =>
  (field === undefined ? [] : Array.isArray(field) ? field : [field]).map((a) => a.text).join(', ')

function summarize (id: string, mail: ParsedMail): Summary {
  return { id, date: (mail.date ?? new Date(0)).toISOString(), from: mail.from?.text ?? '', to: addresses(mail.to), subject: mail.subject ?? '' }
}

const isLoopback = (address: string): boolean => address === '::1' || (isIP(address) === 4 && address.startsWith('127.'))

/**
 * Loopback peers only: the socket's own address, whatever X-Forwarded-For (TRUST_PROXY) says;
 * asked for a loopback name (a web page that rebinds its own name to 127.0.0.1 sends its name);
 * and not relayed (a tunnel or dev proxy on this machine connects from loopback for others).
 */
function fromThisMachine (request: FastifyRequest): boolean {
  const peer = request.socket.remoteAddress ?? ''
  if (!isLoopback(peer.startsWith('::ffff:') ? peer.slice(7) : peer)) return false
  const headers = request.headers
  if (headers['x-forwarded-for'] !== undefined || headers.forwarded !== undefined || headers['x-forwarded-host'] !== undefined) return false
  let hostname: string
  try {
    hostname = new URL(`http://${headers.host ?? ''}`).hostname
  } catch {
    return false
  }
  return hostname === 'localhost' || hostname === '[::1]' || isLoopback(hostname)
}

const wantsHtml = (request: FastifyRequest): boolean => (request.headers.accept ?? '').includes('text/html')

export default async function mailPreview (app: FastifyInstance): Promise<void> {
  const { config } = app
  if (!config.mailPreview || config.env === 'production') return
  // A development dependency, loaded only here: production never registers this page.
  const { simpleParser } = await import('mailparser')
  const summaries = new Map<string, Summary>()

  /** The newest files first (their names start with the time they were written). */
  async function newestFiles (): Promise<string[]> {
    const names = await readdir(config.mailDir).catch(() => [] as string[])
    return names.filter((n) => n.endsWith('.eml')).sort().reverse().slice(0, LISTED)
  }

  async function parse (id: string): Promise<ParsedMail> {
    const raw = await readFile(join(config.mailDir, `${id}.eml`)).catch(() => { throw NotFound('NOT_FOUND', 'no such message in the mail outbox') })
    return simpleParser(raw)
  }

  async function list (): Promise<Summary[]> {
    const ids = (await newestFiles()).map((n) => n.slice(0, -'.eml'.length))
    for (const id of ids) if (!summaries.has(id)) summaries.set(id, summarize(id, await parse(id)))
    // Files are never rewritten; what is no longer listed is forgotten.
    for (const id of summaries.keys()) if (!ids.includes(id)) summaries.delete(id)
    return ids.map((id) => summaries.get(id)!)
  }

  // Elsewhere the page does not exist, as in production.
  app.addHook('onRequest', async (request, reply) => {
    if (!fromThisMachine(request)) return notFoundHandler(request, reply)
  })

  app.get('/dev/mail', { schema: { hide: true } }, async (request, reply) => {
    const messages = await list()
    if (!wantsHtml(request)) {
      reply.type('text/plain; charset=utf-8')
      if (messages.length === 0) return `No messages in ${config.mailDir} yet.\n`
      return messages.map((m) => `${m.date}  ${m.to}  ${m.subject}\n  ${config.publicUrl}/dev/mail/${m.id}\n`).join('')
    }
    const rows = messages.map((m) => html`<tr><td>${m.date.replace('T', ' ').slice(0, 19)}</td><td>${m.to}</td><td><a href="/dev/mail/${m.id}">${m.subject || '(no subject)'}</a></td></tr>`).join('')
    reply.header('content-security-policy', LIST_CSP).type('text/html; charset=utf-8')
    return '<!doctype html><html><head><meta charset="utf-8"><title>Mail outbox</title></head>' +
      '<body style="font-family:system-ui,sans-serif;margin:24px;color:#222"><h1 style="font-size:20px">Mail outbox</h1>' +
      html`<p style="color:#666">The newest ${LISTED} of the messages in ${config.mailDir}, newest first (development only; nothing was sent).</p>` +
      (rows ? `<table cellpadding="6" style="border-collapse:collapse"><tr><th align="left">Written (UTC)</th><th align="left">To</th><th align="left">Subject</th></tr>${rows}</table>` : '<p>No messages yet.</p>') +
      '</body></html>'
  })

  app.get('/dev/mail/:id', { schema: { hide: true, params: Type.Object({ id: MessageId }) } }, async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    let { id } = request.params
    if (id === 'latest') id = (await newestFiles())[0]?.slice(0, -'.eml'.length) ?? id
    const mail = await parse(id)
    const head = summarize(id, mail)
    if (!wantsHtml(request)) {
      reply.type('text/plain; charset=utf-8')
      return `From: ${head.from}\nTo: ${head.to}\nSubject: ${head.subject}\nDate: ${head.date}\n\n${mail.text ?? ''}`
    }
    const banner = html`<div style="font:13px system-ui,sans-serif;background:#f4f4f4;padding:8px 12px;margin-bottom:16px">` +
      html`<a href="/dev/mail">Mail outbox</a> · From ${head.from} · To ${head.to} · ${head.date}<br><b>${head.subject}</b></div>`
    const body = mail.html === false ? html`<pre style="white-space:pre-wrap">${mail.text ?? ''}</pre>` : mail.html
    reply.header('content-security-policy', MESSAGE_CSP).type('text/html; charset=utf-8')
    return /<body[^>]*>/i.test(body) ? body.replace(/<body[^>]*>/i, (tag) => tag + banner) : banner + body
  })
}
