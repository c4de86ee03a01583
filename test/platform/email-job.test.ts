import { Writable } from 'node:stream'
import pino, { type Logger } from 'pino'
import t from 'tap'
import { Job } from 'bullmq'
import { createTestEnv, eventually } from '../helpers/app.ts'
import { uniqueEmail } from '../helpers/auth.ts'
import { createEmailProcessor } from '../../src/jobs/email.ts'
import { createMailer, sealEmail } from '../../src/platform/mail.ts'
import { emailTemplates } from '../../src/worker.ts'
import type { EmailJob } from '../../src/platform/queues.ts'

function memoryLogger (): { log: Logger, lines: () => string } {
  let out = ''
  const stream = new Writable({ write (chunk, _enc, done) { out += chunk; done() } })
  return { log: pino({ level: 'debug' }, stream), lines: () => out }
}

t.test('an email job run again after its send completed does not send again', async (t) => {
  const env = await createTestEnv(t, { smtp: true })
  const to = uniqueEmail('once')
  const added = await env.app.queues.email.add('signin-code', sealEmail(env.app.sealer, 'signin-code', { to, vars: { code: '482913', minutes: 10 } }))
  const job = (await Job.fromId<EmailJob>(env.app.queues.email, added.id!))!
  const { log } = memoryLogger()
  const mailer = createMailer(env.config, log)
  t.teardown(() => mailer.close())
  const process = createEmailProcessor({ sealer: env.app.sealer, mailer, templates: emailTemplates, redis: env.app.redis, log })

  const first = await process(job)
  await env.smtp!.waitFor((m) => m.to.includes(to))
  // The same job again: what a retry after a crash between the send and the job's completion runs.
  const second = await process(job)
  t.same(second, { messageId: first.messageId, alreadySent: true }, 'the retry knows it was sent')
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(env.smtp!.messages.filter((m) => m.to.includes(to)).length, 1, 'one message arrived')

  // Should the marker be lost (a worker killed after the server's 250, before recording it), the
  // second send carries the same Message-ID, which mailboxes use to drop the duplicate.
  await env.app.redis.del(`mail:sent:${job.id}:${job.timestamp}`)
  await process(job)
  const copies = await eventually(() => { const c = env.smtp!.messages.filter((m) => m.to.includes(to)); return c.length === 2 ? c : null })
  t.equal(copies[0]!.raw.messageId, copies[1]!.raw.messageId, 'a resend keeps the Message-ID')
  t.match(copies[0]!.raw.messageId, /^<[0-9a-f]{32}@localhost>$/, 'an opaque name: a keyed hash of the message\'s marker')
  await env.app.redis.set(`mail:sent:${job.id}:${job.timestamp}`, first.messageId)

  // Another job to the same address is another message.
  const other = await env.app.queues.email.add('signin-code', sealEmail(env.app.sealer, 'signin-code', { to, vars: { code: '111222', minutes: 10 } }))
  await process((await Job.fromId<EmailJob>(env.app.queues.email, other.id!))!)
  t.equal(env.smtp!.messages.filter((m) => m.to.includes(to)).length, 3)
  const ids = env.smtp!.messages.filter((m) => m.to.includes(to)).map((m) => m.raw.messageId)
  t.not(ids[2], ids[0], 'another message, another Message-ID')
})

t.test('a refused recipient fails its job once, with a reason and log lines that name nobody', async (t) => {
  const env = await createTestEnv(t, { smtp: true })
  const { log, lines } = memoryLogger()
  await env.startWorker({ logger: log, queues: ['email'] })
  const to = uniqueEmail('refused')
  env.smtp!.reject(to)

  const added = await env.app.queues.email.add('signup-code', sealEmail(env.app.sealer, 'signup-code', { to, vars: { name: 'Rejected Rita', code: '909090', link: 'http://x.test/c', minutes: 30 } }))
  const job = (await eventually(async () => {
    // Read again once failed: a job read before it failed carries the fields of then.
    const found = await Job.fromId<EmailJob>(env.app.queues.email, added.id!)
    return found && await found.isFailed() ? Job.fromId<EmailJob>(env.app.queues.email, added.id!) : null
  }, 15000))!
  t.equal(env.smtp!.refused.length, 1, 'tried once: a dead mailbox is not retried')
  t.equal(job.attemptsMade, 1)
  t.match(job.failedReason, /^email send failed: \w+/, `a scrubbed reason (${job.failedReason})`)
  const stored = JSON.stringify({ reason: job.failedReason, stack: job.stacktrace })
  t.notMatch(stored, /@|Rita|909090|Recipient address rejected|User unknown/, 'no address, name, code or SMTP transcript in Redis')
  const logged = lines()
  t.match(logged, /job failed/, 'the failure is logged')
  t.notOk(logged.includes(to) || logged.includes(to.split('@')[0]!), 'the worker logs no recipient')
  t.notMatch(logged, /Rita|909090|User unknown/)
})

t.test('a new message that reuses an old job id (the queue was emptied and its counter reset) is still sent', async (t) => {
  const env = await createTestEnv(t, { smtp: true })
  const { log } = memoryLogger()
  const mailer = createMailer(env.config, log)
  t.teardown(() => mailer.close())
  const process = createEmailProcessor({ sealer: env.app.sealer, mailer, templates: emailTemplates, redis: env.app.redis, log })
  const send = async (to: string, code: string) => {
    const added = await env.app.queues.email.add('signin-code', sealEmail(env.app.sealer, 'signin-code', { to, vars: { code, minutes: 10 } }))
    return process((await Job.fromId<EmailJob>(env.app.queues.email, added.id!))!).then((result) => ({ id: added.id, result }))
  }

  const before = await send(uniqueEmail('before'), '123123')
  // An operator clears a backlog: the queue's keys go, its job ids start again at 1.
  await env.app.queues.email.obliterate({ force: true })
  const to = uniqueEmail('after')
  const after = await send(to, '456456')
  t.equal(after.id, before.id, 'the new job has the old one\'s id')
  t.notOk((after.result as { alreadySent?: true }).alreadySent, 'it is not mistaken for the message already sent')
  const mail = await env.smtp!.waitFor((m) => m.to.includes(to), 5000)
  t.match(mail.text, /456456/)
})

t.test('an outbox message queued again after its job was removed is not sent again', async (t) => {
  const env = await createTestEnv(t, { smtp: true })
  const { log } = memoryLogger()
  const mailer = createMailer(env.config, log)
  t.teardown(() => mailer.close())
  const process = createEmailProcessor({ sealer: env.app.sealer, mailer, templates: emailTemplates, redis: env.app.redis, log })
  const to = uniqueEmail('relayed')
  const payload = sealEmail(env.app.sealer, 'signin-code', { to, vars: { code: '777000', minutes: 10 } })
  // The relay names a job after its outbox row; a relay whose commit failed queues it again.
  const queue = async () => (await Job.fromId<EmailJob>(env.app.queues.email, (await env.app.queues.email.add('signin-code', payload, { jobId: 'outbox-0193a1b2-row' })).id!))!
  const first = await queue()
  t.notOk((await process(first) as { alreadySent?: true }).alreadySent)
  await first.remove()
  await new Promise((resolve) => setTimeout(resolve, 5))
  const again = await queue()
  t.not(again.timestamp, first.timestamp, 'a new job for the same row')
  await env.smtp!.waitFor((m) => m.to.includes(to))
  t.equal((await process(again) as { alreadySent?: true }).alreadySent, true, 'known as sent')
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(env.smtp!.messages.filter((m) => m.to.includes(to)).length, 1, 'one message arrived')
})
