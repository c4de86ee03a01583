import t from 'tap'
import { createTestEnv, eventually } from '../helpers/app.ts'
import { createUser } from '../helpers/auth.ts'
import { spawnWorker } from '../helpers/processes.ts'
import { startPrivateRedis } from '../helpers/redis-server.ts'

// SPEC 10: on SIGTERM the worker finishes its running jobs first. A supervisor that repeats the
// signal must not cut that short (a job killed mid-send is sent again, or waits for a retry).

t.test('a second SIGTERM while the worker finishes a job lets it finish, and the worker exits 0', async (t) => {
  const env = await createTestEnv(t, { smtp: true })
  const smtp = env.smtp!
  const user = await createUser(env)
  const worker = spawnWorker(env.config, { LOG_LEVEL: 'info' })
  t.teardown(() => worker.kill())
  await eventually(() => /worker started/.test(worker.output()), 30000)

  const arrived = smtp.delayNext(user.email, 1500)
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/otp/send', payload: { email: user.email } })).statusCode, 202)
  await arrived
  worker.child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 200))
  worker.child.kill('SIGTERM')

  t.equal(await worker.exited, 0, 'the worker exits 0')
  t.equal(smtp.messages.filter((m) => m.to.includes(user.email)).length, 1, 'after the running send completed')
  const job = (await env.app.queues.email.getCompleted()).find((j) => j.name === 'signin-code')
  t.ok(job, 'and its job is recorded as completed, not left to stall')
})

t.test('one SIGTERM while a job runs: the worker stops taking jobs, finishes that one, then exits 0', async (t) => {
  const env = await createTestEnv(t, { smtp: true })
  const smtp = env.smtp!
  const [first, second] = [await createUser(env), await createUser(env)]
  const worker = spawnWorker(env.config, { LOG_LEVEL: 'info' })
  t.teardown(() => worker.kill())
  await eventually(() => /worker started/.test(worker.output()), 30000)

  const arrived = smtp.delayNext(first.email, 1500)
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/otp/send', payload: { email: first.email } })).statusCode, 202)
  await arrived
  const signalled = Date.now()
  worker.child.kill('SIGTERM')
  await eventually(() => /SIGTERM received/.test(worker.output()), 5000)
  // Queued once the worker is stopping: it must leave it for the next one.
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/otp/send', payload: { email: second.email } })).statusCode, 202)

  t.equal(await worker.exited, 0, 'the worker exits 0')
  t.ok(Date.now() - signalled >= 1000, 'after the running send completed, not at once')
  t.equal(smtp.messages.filter((m) => m.to.includes(first.email)).length, 1, 'the running job\'s message arrived')
  const completed = (await env.app.queues.email.getCompleted()).filter((j) => j.name === 'signin-code')
  t.equal(completed.length, 1, 'its job is completed, not left to stall')
  t.equal(smtp.messages.filter((m) => m.to.includes(second.email)).length, 0, 'the job queued after the signal was not started')
  t.equal(await env.app.queues.email.getWaitingCount(), 1, 'it waits for the next worker')
})

t.test('SIGTERM while Redis is down stops the worker at once, not after the 30 s grace period', async (t) => {
  const redis = await startPrivateRedis()
  t.teardown(() => redis.close())
  const env = await createTestEnv(t, { api: false, config: { redisUrl: redis.url } })
  const worker = spawnWorker(env.config, { LOG_LEVEL: 'info' })
  t.teardown(() => worker.kill())
  await eventually(() => /worker started/.test(worker.output()), 30000)
  await redis.stop()
  await new Promise((resolve) => setTimeout(resolve, 300))
  const signalled = Date.now()
  worker.child.kill('SIGTERM')
  const code = await Promise.race([worker.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 8000))])
  t.equal(code, 0, `exits 0 within seconds (${Date.now() - signalled} ms)`)
  // Back up for the teardown, which deletes the test's keys.
  await redis.start()
})
