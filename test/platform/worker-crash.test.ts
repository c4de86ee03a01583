import t from 'tap'
import { createTestEnv, eventually } from '../helpers/app.ts'
import { codeFrom, createUser } from '../helpers/auth.ts'
import { spawnWorker, type SpawnedProcess } from '../helpers/processes.ts'

// A worker killed mid-job (SIGKILL: no graceful close, its job lock simply stops being renewed)
// leaves the job to the next worker within seconds, twice in a row if need be. A sign-in code is
// the case that matters: the user is waiting for it.

const RECOVERY_LIMIT_MS = 15000

t.test('a sign-in code survives two workers killed while sending it, arriving within seconds of each crash', async (t) => {
  const env = await createTestEnv(t, { smtp: true })
  const smtp = env.smtp!
  const user = await createUser(env)
  const workers: SpawnedProcess[] = []
  t.teardown(async () => { for (const w of workers) await w.kill() })
  // Started and ready before the running one is killed, as other copies are in production.
  const start = async () => {
    const w = spawnWorker(env.config, { LOG_LEVEL: 'info' })
    workers.push(w)
    await eventually(() => /worker started/.test(w.output()), 30000)
    return w
  }

  // First worker: takes the job and hangs in the middle of sending it.
  let held = smtp.holdNext(user.email)
  const first = await start()
  const sent = await env.app.inject({ method: 'POST', url: '/auth/otp/send', payload: { email: user.email } })
  t.equal(sent.statusCode, 202)
  await held
  t.ok(first.alive(), 'the first worker is mid-send')

  // Crash one: a second worker picks the job up and is killed mid-send as well.
  held = smtp.holdNext(user.email)
  const second = await start()
  await first.kill()
  let crashedAt = Date.now()
  await held
  const firstRecovery = Date.now() - crashedAt
  t.ok(firstRecovery <= RECOVERY_LIMIT_MS, `resumed ${firstRecovery} ms after the first crash`)

  // Crash two: a third worker finishes it.
  await start()
  await second.kill()
  crashedAt = Date.now()
  const mail = await smtp.waitFor((m) => m.to.includes(user.email), RECOVERY_LIMIT_MS + 5000)
  const secondRecovery = Date.now() - crashedAt
  t.ok(secondRecovery <= RECOVERY_LIMIT_MS, `delivered ${secondRecovery} ms after the second crash`)

  const code = codeFrom(mail)
  const verified = await env.app.inject({ method: 'POST', url: '/auth/otp/verify', payload: { email: user.email, code } })
  t.equal(verified.statusCode, 200, 'the code works')
  t.equal(verified.json().user.id, user.id)
  t.equal(smtp.messages.filter((m) => m.to.includes(user.email)).length, 1, 'one message delivered')
})
