import { EventEmitter, once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { simpleParser, type ParsedMail } from 'mailparser'

// A real SMTP server for a test file: the worker sends to it; tests read what arrived.

export interface ReceivedMail {
  to: string[]
  from: string
  subject: string
  text: string
  html: string
  raw: ParsedMail
}

export interface TestSmtp {
  url: string
  messages: ReceivedMail[]
  /** Resolves with the first message (already received or arriving) that matches. */
  waitFor: (match: (mail: ReceivedMail) => boolean, timeoutMs?: number) => Promise<ReceivedMail>
  /**
   * The next message to this recipient is taken in but never acknowledged: its sender hangs in
   * DATA, mid-send. Resolves when that message arrived (a test then kills the sender).
   */
  holdNext: (address: string) => Promise<void>
  /**
   * The next message to this recipient is acknowledged (and counted as received) only `ms`
   * after it arrived: a slow send. Resolves when it arrived, before the acknowledgement.
   */
  delayNext: (address: string, ms: number) => Promise<void>
  /** Refuses this recipient from now on (550 on RCPT TO), as a server does for a dead mailbox. */
  reject: (address: string) => void
  /**
   * Refuses the next `times` attempts to this recipient with a temporary failure (451 on RCPT
   * TO), as a greylisting or overloaded server does; later attempts go through.
   */
  deferNext: (address: string, times: number) => void
  /** When each deferred attempt came (ms since the epoch), per recipient. */
  deferred: Map<string, number[]>
  /** Recipients refused so far (one entry per attempt). */
  refused: string[]
  close: () => Promise<void>
}

export async function startSmtpServer (): Promise<TestSmtp> {
  const messages: ReceivedMail[] = []
  const events = new EventEmitter()
  const rejected = new Set<string>()
  const refused: string[] = []
  const holds = new Map<string, () => void>()
  const delays = new Map<string, { ms: number, arrived: () => void }>()
  const defers = new Map<string, number>()
  const deferred = new Map<string, number[]>()
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo (address, _session, callback) {
      const to = address.address.toLowerCase()
      const defer = defers.get(to) ?? 0
      if (defer > 0) {
        defers.set(to, defer - 1)
        deferred.set(to, [...(deferred.get(to) ?? []), Date.now()])
        const err = new Error('Greylisted, please try again later') as Error & { responseCode: number }
        err.responseCode = 451
        return callback(err)
      }
      if (!rejected.has(to)) return callback()
      refused.push(address.address)
      // Real servers quote the address back: the transcript is personal data too.
      const err = new Error(`<${address.address}>: Recipient address rejected: User unknown in virtual mailbox table`) as Error & { responseCode: number }
      err.responseCode = 550
      callback(err)
    },
    onData (stream, session, callback) {
      const held = session.envelope.rcptTo.map((r) => r.address.toLowerCase()).find((a) => holds.has(a))
      if (held !== undefined) {
        const arrived = holds.get(held)!
        holds.delete(held)
        stream.resume()
        stream.on('end', arrived)
        return // no callback: the sender waits for a reply that never comes
      }
      const slow = session.envelope.rcptTo.map((r) => r.address.toLowerCase()).find((a) => delays.has(a))
      const delay = slow === undefined ? undefined : delays.get(slow)!
      if (slow !== undefined) delays.delete(slow)
      simpleParser(stream).then(async (parsed) => {
        if (delay) {
          delay.arrived()
          await new Promise((resolve) => setTimeout(resolve, delay.ms))
        }
        const mail: ReceivedMail = {
          to: session.envelope.rcptTo.map((r) => r.address),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          subject: parsed.subject ?? '',
          text: parsed.text ?? '',
          html: typeof parsed.html === 'string' ? parsed.html : '',
          raw: parsed
        }
        messages.push(mail)
        events.emit('mail', mail)
        callback()
      }, callback)
    }
  })
  // A sender killed mid-session (the crash tests) resets its connection: not the test's failure.
  server.on('error', () => {})
  server.listen(0, '127.0.0.1')
  await once(server.server, 'listening')
  const { port } = server.server.address() as AddressInfo

  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    refused,
    reject: (address) => { rejected.add(address.toLowerCase()) },
    deferNext: (address, times) => { defers.set(address.toLowerCase(), times) },
    deferred,
    holdNext: (address) => new Promise<void>((resolve) => { holds.set(address.toLowerCase(), resolve) }),
    delayNext: (address, ms) => new Promise<void>((resolve) => { delays.set(address.toLowerCase(), { ms, arrived: resolve }) }),
    async waitFor (match, timeoutMs = 15000) {
      const found = messages.find(match)
      if (found) return found
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          events.off('mail', onMail)
          reject(new Error(`no matching mail within ${timeoutMs} ms (${messages.length} received)`))
        }, timeoutMs)
        function onMail (mail: ReceivedMail) {
          if (!match(mail)) return
          clearTimeout(timer)
          events.off('mail', onMail)
          resolve(mail)
        }
        events.on('mail', onMail)
      })
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
