import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import type { Config } from '../../src/config.ts'

// A local stand-in for Twilio's Messages API (the only remote part tests may replace): the app
// talks to it through TWILIO_BASE_URL exactly as to Twilio. It checks what Twilio checks and
// answers as Twilio does: POST /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP Basic
// auth with the SID and auth token (401, error 20003, otherwise), a form-encoded body with To
// (E.164), Body and exactly one of From and MessagingServiceSid (400 with Twilio's error code
// otherwise), and a 201 with the message resource. Accepted messages are kept for tests to read
// codes from; every request is recorded.

export interface TwilioMessage { sid: string, to: string, from: string | null, messagingServiceSid: string | null, body: string }
export interface TwilioRequest { method: string, path: string, authorization: string | undefined, contentType: string | undefined, form: Record<string, string>, status: number }
/** How the double answers the next requests instead of taking them: an error status (with Twilio's code), or no answer at all. */
export type TwilioFault = { status: number, code?: number } | 'hang'

export interface TwilioDouble {
  url: string
  accountSid: string
  authToken: string
  from: string
  messages: TwilioMessage[]
  requests: TwilioRequest[]
  /** The next requests get these answers, one each, in order; later ones are handled normally. */
  failNext: (...faults: TwilioFault[]) => void
  waitFor: (match: (message: TwilioMessage) => boolean, timeoutMs?: number) => Promise<TwilioMessage>
  /** The config that sends through this double (SMS_PROVIDER=twilio, TWILIO_BASE_URL its address). */
  config: (overrides?: { from?: string, authToken?: string, timeoutMs?: number }) => Pick<Config, 'sms'>
  close: () => Promise<void>
}

const E164 = /^\+[1-9][0-9]{6,14}$/

/** The 6-digit code in a text. */
export function codeFromSms (message: TwilioMessage): string {
  const code = /\b(\d{6})\b/.exec(message.body)?.[1]
  if (!code) throw new Error('no code in the SMS')
  return code
}

export async function startTwilioDouble (): Promise<TwilioDouble> {
  const accountSid = `AC${randomBytes(16).toString('hex')}`
  const authToken = randomBytes(16).toString('hex')
  const from = '+15005550006'
  const messages: TwilioMessage[] = []
  const requests: TwilioRequest[] = []
  const faults: TwilioFault[] = []
  const waiters = new Set<() => void>()
  const hanging = new Set<ServerResponse>()

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  }
  const error = (res: ServerResponse, status: number, code: number, message: string) =>
    answer(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status })

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')))
    const record: TwilioRequest = { method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, contentType: req.headers['content-type'], form, status: 0 }
    requests.push(record)
    const respond = (status: number, code: number, message: string) => { record.status = status; error(res, status, code, message) }

    const fault = faults.shift()
    if (fault === 'hang') { hanging.add(res); return }
    if (fault) return respond(fault.status, fault.code ?? 20500, 'injected failure')
    if (req.method !== 'POST' || req.url !== `/2010-04-01/Accounts/${accountSid}/Messages.json`) return respond(404, 20404, 'The requested resource was not found')
    if (req.headers.authorization !== `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`) return respond(401, 20003, 'Authenticate')
    if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return respond(400, 20001, 'Content-Type must be form-encoded')
    if (!form.To || !E164.test(form.To)) return respond(400, 21211, `The 'To' number ${form.To ?? ''} is not a valid phone number.`)
    if (!form.Body) return respond(400, 21602, 'Message body is required.')
    if ((form.From === undefined) === (form.MessagingServiceSid === undefined)) return respond(400, 21604, "A 'From' or 'MessagingServiceSid' parameter is required")
    const message: TwilioMessage = { sid: `SM${randomBytes(16).toString('hex')}`, to: form.To, from: form.From ?? null, messagingServiceSid: form.MessagingServiceSid ?? null, body: form.Body }
    messages.push(message)
    record.status = 201
    answer(res, 201, { sid: message.sid, account_sid: accountSid, to: message.to, from: message.from, messaging_service_sid: message.messagingServiceSid, body: message.body, status: 'queued', num_segments: '1', direction: 'outbound-api', uri: `/2010-04-01/Accounts/${accountSid}/Messages/${message.sid}.json` })
    for (const wake of waiters) wake()
  }

  const server = createServer((req, res) => { handle(req, res).catch(() => res.destroy()) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    accountSid,
    authToken,
    from,
    messages,
    requests,
    failNext: (...more) => { faults.push(...more) },
    async waitFor (match, timeoutMs = 15000) {
      const found = messages.find(match)
      if (found) return found
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = messages.find(match)
          if (!hit) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve(hit)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no matching SMS within ${timeoutMs} ms (${messages.length} received)`))
        }, timeoutMs)
        waiters.add(check)
      })
    },
    config: (overrides = {}) => ({
      sms: {
        provider: 'twilio',
        twilio: { accountSid, authToken: overrides.authToken ?? authToken, from: overrides.from ?? from, baseUrl: url },
        timeoutMs: overrides.timeoutMs ?? 5000
      }
    }),
    async close () {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    }
  }
}
