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
  close: () => Promise<void>
}

export async function startSmtpServer (): Promise<TestSmtp> {
  const messages: ReceivedMail[] = []
  const events = new EventEmitter()
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData (stream, session, callback) {
      simpleParser(stream).then((parsed) => {
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
  server.listen(0, '127.0.0.1')
  await once(server.server, 'listening')
  const { port } = server.server.address() as AddressInfo

  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
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
