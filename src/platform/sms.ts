import { UnrecoverableError } from 'bullmq'
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.ts'
import type { Sealer } from './crypto.ts'
import type { Queues, SmsJob } from './queues.ts'

// Text messages: the API queues them (sealed: Redis never sees a number or a code) and the
// worker sends them through Twilio's Messages API, or, with SMS_PROVIDER=log (development and
// tests), writes them to the log so codes can be read locally. Production without a provider
// has no SMS channel: callers refuse it (422 CHANNEL_UNAVAILABLE).

export interface SmsSender { send: (to: string, text: string) => Promise<{ id: string }> }

export interface OutgoingSms { to: string, text: string }

/** Whether codes may be offered by SMS here: a provider, or a non-production log driver. */
export function smsChannelAvailable (config: Pick<Config, 'env' | 'sms'>): boolean {
  return config.sms.provider !== 'log' || config.env !== 'production'
}

/** Queues a text now; `purpose` names the job (never its content). */
export async function enqueueSms (deps: { queues: Queues, sealer: Sealer }, purpose: string, sms: OutgoingSms): Promise<void> {
  await deps.queues.sms.add(purpose, { sealed: deps.sealer.seal(sms, 'sms') })
}

export function openSms (sealer: Sealer, job: SmsJob): OutgoingSms {
  return sealer.open<OutgoingSms>(job.sealed, 'sms')
}

/**
 * A failed send, fit to be kept in Redis and the log: only the HTTP status and Twilio's error
 * code, never its message (it quotes the number). A 400 is Twilio refusing this message for
 * good (invalid or unreachable number, blocked content): not retried. Timeouts, network errors,
 * 429 and 5xx are retried with the queue's backoff; so are 401/403/404, which an operator fixes.
 */
export class SmsSendError extends Error {
  constructor (readonly detail: string, readonly status?: number) {
    super(`sms send failed: ${detail}`)
    this.stack = `Error: ${this.message}`
  }
}

export function forQueue (err: unknown): Error {
  const scrubbed = err instanceof SmsSendError ? err : new SmsSendError('ESEND')
  if (scrubbed.status === 400) {
    const permanent = new UnrecoverableError(scrubbed.message)
    permanent.stack = `UnrecoverableError: ${scrubbed.message}`
    return permanent
  }
  return scrubbed
}

function twilioSender (twilio: NonNullable<Config['sms']['twilio']>, timeoutMs: number): SmsSender {
  const url = `${twilio.baseUrl}/2010-04-01/Accounts/${encodeURIComponent(twilio.accountSid)}/Messages.json`
  const authorization = `Basic ${Buffer.from(`${twilio.accountSid}:${twilio.authToken}`).toString('base64')}`
  const sender: Record<string, string> = twilio.from.startsWith('MG') ? { MessagingServiceSid: twilio.from } : { From: twilio.from }
  return {
    async send (to, text) {
      let res: Response
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { authorization, accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ To: to, ...sender, Body: text }),
          signal: AbortSignal.timeout(timeoutMs)
        })
      } catch (err) {
        const e = err as { name?: string, cause?: { code?: unknown } }
        const code = e.name === 'TimeoutError' ? 'timeout' : typeof e.cause?.code === 'string' && /^[A-Z_]{1,40}$/.test(e.cause.code) ? e.cause.code : 'network error'
        throw new SmsSendError(code)
      }
      const body = await res.json().catch(() => ({})) as { sid?: unknown, code?: unknown }
      if (!res.ok) {
        const code = typeof body.code === 'number' ? ` (Twilio ${body.code})` : ''
        throw new SmsSendError(`HTTP ${res.status}${code}`, res.status)
      }
      if (typeof body.sid !== 'string') throw new SmsSendError(`HTTP ${res.status} without a message sid`)
      return { id: body.sid }
    }
  }
}

export function createSmsSender (config: Pick<Config, 'sms'>, log: FastifyBaseLogger): SmsSender {
  if (config.sms.twilio) return twilioSender(config.sms.twilio, config.sms.timeoutMs)
  let count = 0
  return {
    async send (to, text) {
      log.info({ sms: { to: `…${to.slice(-4)}`, text } }, 'SMS (SMS_PROVIDER=log: logged, not sent)')
      return { id: `log-${++count}` }
    }
  }
}
