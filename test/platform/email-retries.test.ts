import t from 'tap'
import { Job } from 'bullmq'
import { createTestEnv, eventually } from '../helpers/app.ts'
import { createUser, uniqueEmail } from '../helpers/auth.ts'
import { sealEmail } from '../../src/platform/mail.ts'
import type { EmailJob } from '../../src/platform/queues.ts'

// SPEC 9 (issue 15, item 6): jobs retry with exponential backoff, and jobs that exhaust their
// retries stay visible as failed. Real worker, real SMTP server refusing for a while (451, as a
// greylisting server does), real Redis.

t.test('an email refused for a while is retried with growing waits, then delivered', async (t) => {
  const env = await createTestEnv(t, { smtp: true })
  await env.startWorker({ queues: ['email'] })
  const user = await createUser(env)
  env.smtp!.deferNext(user.email, 2)

  const sent = await env.app.inject({ method: 'POST', url: '/auth/otp/send', payload: { email: user.email } })
  t.equal(sent.statusCode, 202)
  const mail = await env.smtp!.waitFor((m) => m.to.includes(user.email), 30000)
  t.match(mail.text, /\b\d{6}\b/, 'the code arrived on the third attempt')
  const attempts = [...env.smtp!.deferred.get(user.email.toLowerCase())!, Date.now()]
  t.equal(attempts.length, 3, 'two refusals, then the delivery')
  const waits = [attempts[1]! - attempts[0]!, attempts[2]! - attempts[1]!]
  t.ok(waits[0]! >= 1900, `the first retry waited ~2 s (${waits[0]} ms)`)
  t.ok(waits[1]! >= 3900, `the second ~4 s: the wait doubles (${waits[1]} ms)`)

  // Recorded completed once the worker hears the server's acknowledgement.
  const job = (await eventually(async () => (await env.app.queues.email.getCompleted()).find((j) => j.name === 'signin-code') ?? null, 10000))!
  t.equal(job.attemptsMade, 3, 'one job, three attempts')
  t.same({ attempts: job.opts.attempts, backoff: job.opts.backoff }, { attempts: 6, backoff: { type: 'exponential', delay: 2000 } }, 'as every queued job is configured')
})

t.test('a job that exhausts its retries stays visible as failed, with a reason that names nobody', async (t) => {
  const env = await createTestEnv(t, { smtp: true })
  await env.startWorker({ queues: ['email'] })
  const to = uniqueEmail('greylisted')
  env.smtp!.deferNext(to, 100)
  // The queue's own options (backoff, how long failed jobs are kept), with two attempts for speed.
  const added = await env.app.queues.email.add('signin-code', sealEmail(env.app.sealer, 'signin-code', { to, vars: { code: '314159', minutes: 10 } }), { attempts: 2 })
  // The job is read again once it is failed (a final state): a copy read before the state check
  // could predate the last attempt (read while the job waited for its retry, failed by the check).
  const failed = await eventually(async () => {
    const job = await Job.fromId<EmailJob>(env.app.queues.email, added.id!)
    return job && await job.isFailed() ? await Job.fromId<EmailJob>(env.app.queues.email, added.id!) : null
  }, 20000)
  t.equal(failed!.attemptsMade, 2, 'both attempts made')
  t.match(failed!.failedReason, /^email send failed: \w+/, `the reason is kept (${failed!.failedReason})`)
  t.notMatch(failed!.failedReason, /@|314159/, 'and names no recipient or code')
  t.same(failed!.opts.removeOnFail, { age: 7 * 24 * 3600 }, 'kept a week')

  // Still there later, in the failed list that the dashboard (/admin/queues) shows.
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const listed = await env.app.queues.email.getFailed()
  t.ok(listed.some((j) => j.id === added.id), 'listed among failed jobs')
  t.equal(await env.app.queues.email.getJobCountByTypes('failed'), 1)
  t.equal(env.smtp!.messages.filter((m) => m.to.includes(to)).length, 0, 'nothing was delivered')
})
