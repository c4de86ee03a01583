import { EventEmitter, once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'

// The topology's SMTP catcher (smtp-server from npm): every worker sends here; it keeps who each
// message went to and its subject, so a test can count deliveries per recipient. A message counts
// as delivered when the server acknowledges it (250 after DATA), as a real MTA takes it over.

export interface CaughtMail { to: string[], subject: string }

export interface MailCatcher {
  url: string
  messages: CaughtMail[]
  /** Messages delivered to each recipient (lower case). */
  countsByRecipient: () => Map<string, number>
  /** Resolves once `n` messages in all have been delivered. */
  waitForCount: (n: number, timeoutMs?: number) => Promise<void>
  /**
   * From now on, a message's DATA is taken in but not acknowledged: its sender waits mid-send
   * (a worker killed now dies in the middle of its sends).
   */
  hold: () => void
  /** Holds end: messages whose sender is still connected are acknowledged (delivered); those whose connection closed meanwhile are dropped, never acknowledged, as an MTA drops them. */
  release: () => { delivered: number, dropped: number }
  /** How many messages are held right now. */
  held: () => number
  close: () => Promise<void>
}

const SUBJECT = /^subject:[ \t]*(.*)$/im

export async function startMailCatcher (): Promise<MailCatcher> {
  const messages: CaughtMail[] = []
  const events = new EventEmitter()
  let holding = false
  const pending: Array<{ mail: CaughtMail, session: string, ack: () => void }> = []
  // Connections that ended: a message held on one of them never got its 250.
  const closed = new Set<string>()
  const deliver = (mail: CaughtMail) => {
    messages.push(mail)
    events.emit('mail')
  }
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData (stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        const head = Buffer.concat(chunks).toString('utf8').split(/\r?\n\r?\n/, 1)[0] ?? ''
        const mail = { to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), subject: SUBJECT.exec(head)?.[1]?.trim() ?? '' }
        if (!holding) {
          deliver(mail)
          return callback()
        }
        pending.push({ mail, session: session.id, ack: () => callback() })
      })
    },
    onClose (session) { closed.add(session.id) }
  })
  // A sender killed mid-session resets its connection: that is the point of some tests.
  server.on('error', () => {})
  server.listen(0, '127.0.0.1')
  await once(server.server, 'listening')
  const { port } = server.server.address() as AddressInfo

  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    countsByRecipient: () => {
      const counts = new Map<string, number>()
      for (const mail of messages) for (const to of mail.to) counts.set(to, (counts.get(to) ?? 0) + 1)
      return counts
    },
    waitForCount: async (n, timeoutMs = 120_000) => {
      const deadline = Date.now() + timeoutMs
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`${messages.length} of ${n} messages arrived within ${timeoutMs} ms`)
        await Promise.race([once(events, 'mail'), new Promise((resolve) => setTimeout(resolve, 500))])
      }
    },
    hold: () => { holding = true },
    release: () => {
      holding = false
      let delivered = 0
      let dropped = 0
      for (const entry of pending.splice(0)) {
        if (closed.has(entry.session)) {
          dropped++
          continue
        }
        deliver(entry.mail)
        entry.ack()
        delivered++
      }
      return { delivered, dropped }
    },
    held: () => pending.length,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
