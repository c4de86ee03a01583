import t from 'tap'
import { createTestEnv, eventually, keysMatching, type TestEnv } from '../helpers/app.ts'
import { codeFrom, createUser, login, PASSWORD, uniqueEmail } from '../helpers/auth.ts'

// Nothing personal sits in Redis in plaintext, failure paths included: after the flows that
// put the most there (sign-up, codes, resets, sessions, idempotent responses, invitations, an
// email refused by the mail server), every key under this test's prefixes, of every type
// (BullMQ's job hashes and event streams too), is searched for the addresses, names, codes,
// secrets and tokens the test used.

async function dumpAll (env: TestEnv): Promise<Map<string, string>> {
  const dump = new Map<string, string>()
  for (const pattern of [`${env.config.redisPrefix}*`, `${env.config.queuePrefix}:*`]) {
    for (const key of await keysMatching(env.redis, pattern)) {
      const type = await env.redis.type(key)
      let value: unknown
      if (type === 'string') value = await env.redis.get(key)
      else if (type === 'hash') value = await env.redis.hgetall(key)
      else if (type === 'set') value = await env.redis.smembers(key)
      else if (type === 'zset') value = await env.redis.zrange(key, '0', '-1', 'WITHSCORES')
      else if (type === 'list') value = await env.redis.lrange(key, 0, -1)
      else if (type === 'stream') value = await env.redis.xrange(key, '-', '+')
      else value = `<${type}>`
      dump.set(key, `${key} ${JSON.stringify(value)}`)
    }
  }
  return dump
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

t.test('after sign-ups, codes, resets, sessions, idempotent replies, invitations and a refused email, Redis holds nothing personal in plaintext', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true, config: { authRateLimitMax: 1000 } })
  const smtp = env.smtp!
  const secrets: string[] = []
  const remember = (...values: string[]) => { secrets.push(...values); return values[0]! }

  // A sign-up, confirmed with its code.
  const ada = remember(uniqueEmail('zebulon'))
  remember('Zebulon Quasimodo', 'Quasimodo', 'Velvet otter password 77')
  const signup = await env.app.inject({ method: 'POST', url: '/auth/signup', payload: { email: ada, name: 'Zebulon Quasimodo', password: 'Velvet otter password 77', phone: '+14155550123' } })
  t.equal(signup.statusCode, 202)
  remember('4155550123')
  const signupCode = remember(codeFrom(await smtp.waitFor((m) => m.to.includes(ada))))
  const verified = await env.app.inject({ method: 'POST', url: '/auth/signup/verify', payload: { signupId: signup.json().signupId, code: signupCode } })
  t.equal(verified.statusCode, 201)

  // A sign-up whose confirmation the mail server refuses.
  const refused = remember(uniqueEmail('rosalind'))
  remember('Rosalind Thistlewood', 'Thistlewood')
  smtp.reject(refused)
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/signup', payload: { email: refused, name: 'Rosalind Thistlewood' } })).statusCode, 202)
  // Its job has failed (or, were it retried, waits with its failure recorded).
  await eventually(async () => smtp.refused.includes(refused) && (await env.app.queues.email.getFailedCount()) + (await env.app.queues.email.getDelayedCount()) >= 1, 15000)

  // A sign-in code, used; a password reset; a password sign-in (a new-device notice).
  const barnaby = await createUser(env, { email: uniqueEmail('barnaby'), name: 'Barnaby Fennimore' })
  remember(barnaby.email, 'Barnaby Fennimore', 'Fennimore')
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/otp/send', payload: { email: barnaby.email } })).statusCode, 202)
  const otp = remember(codeFrom(await smtp.waitFor((m) => m.to.includes(barnaby.email) && /code/i.test(m.subject))))
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/otp/verify', payload: { email: barnaby.email, code: otp } })).statusCode, 200)
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: barnaby.email } })).statusCode, 202)
  const reset = await smtp.waitFor((m) => m.to.includes(barnaby.email) && /reset/i.test(m.subject))
  remember(decodeURIComponent(/token=([^\s"&<]+)/.exec(reset.text)![1]!))
  // From an address of its own: client IPs are personal data too (limits, sessions, keys).
  const ip = remember('203.0.113.77')
  const session = await login(env.app, barnaby.email, PASSWORD, { remoteAddress: ip })
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/login', remoteAddress: ip, payload: { email: barnaby.email, password: 'not the password' } })).statusCode, 401)

  // An idempotent write whose stored response carries the name and address.
  remember('Barnaby Renamed-Quillfeather', 'Quillfeather')
  const renamed = await env.app.inject({ method: 'PATCH', url: '/users/me', headers: { ...session.headers, 'idempotency-key': 'privacy-1' }, payload: { name: 'Barnaby Renamed-Quillfeather' } })
  t.equal(renamed.statusCode, 200)

  // An invitation, relayed through the outbox.
  const workspace = await env.app.inject({ method: 'POST', url: '/workspaces', headers: session.headers, payload: { name: 'Privacy Store' } })
  t.equal(workspace.statusCode, 201)
  const invitee = remember(uniqueEmail('cordelia'))
  const invited = await env.app.inject({ method: 'POST', url: `/workspaces/${workspace.json().id}/invitations`, headers: session.headers, payload: { email: invitee, role: 'member' } })
  t.equal(invited.statusCode, 201)
  await smtp.waitFor((m) => m.to.includes(invitee))

  // Every email job has run (a delayed one is a retry whose failure is already recorded).
  await eventually(async () => {
    const counts = await env.app.queues.email.getJobCounts('waiting', 'active', 'prioritized')
    return Object.values(counts).every((n) => n === 0)
  }, 15000)

  const dump = await dumpAll(env)
  t.ok(dump.size > 10, `${dump.size} keys searched`)
  t.ok([...dump.keys()].some((k) => k.startsWith(`${env.config.queuePrefix}:email:`)), 'BullMQ\'s email keys are among them')
  t.ok([...dump.values()].some((v) => /failedReason/.test(v)), 'including the failed job')
  const all = [...dump.values()].join('\n')

  for (const secret of new Set(secrets)) {
    const pattern = /^\d+$/.test(secret)
      ? new RegExp(`(?<![A-Za-z0-9])${secret}(?![A-Za-z0-9])`)
      : new RegExp(escape(secret), 'i')
    const hits = [...dump.values()].filter((v) => pattern.test(v)).map((v) => v.slice(0, 300))
    t.same(hits, [], `"${secret}" is nowhere in Redis`)
  }
  for (const email of [ada, refused, barnaby.email, invitee]) {
    t.notOk(all.toLowerCase().includes(email.split('@')[0]!.toLowerCase()), `nor the local part of ${email.split('@')[0]}`)
  }
  const addresses = all.match(/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g) ?? []
  t.same(addresses, [], 'no email address of any kind')
})
