import t from 'tap'
import { createTestEnv, keysMatching } from '../../helpers/app.ts'
import { codeFrom, createUser, uniqueEmail } from '../../helpers/auth.ts'

async function allRedisValues (env: Awaited<ReturnType<typeof createTestEnv>>): Promise<string[]> {
  const out: string[] = []
  for (const key of await keysMatching(env.redis, `${env.config.redisPrefix}*`)) {
    out.push(key)
    const type = await env.redis.type(key)
    if (type === 'string') out.push(String(await env.redis.get(key)))
    else if (type === 'hash') out.push(JSON.stringify(await env.redis.hgetall(key)))
    else if (type === 'set') out.push(JSON.stringify(await env.redis.smembers(key)))
    else if (type === 'zset') out.push(JSON.stringify(await env.redis.zrange(key, '0', '-1')))
    else if (type === 'list') out.push(JSON.stringify(await env.redis.lrange(key, 0, -1)))
  }
  // BullMQ's keys (the email job) live under the queue prefix.
  for (const key of await keysMatching(env.redis, `${env.config.queuePrefix}:*`)) {
    out.push(key)
    const type = await env.redis.type(key)
    if (type === 'hash') out.push(JSON.stringify(await env.redis.hgetall(key)))
    else if (type === 'string') out.push(String(await env.redis.get(key)))
  }
  return out
}

/** The one-a-minute cooldown of a sign-up's codes has passed (it is a Redis key with a TTL). */
async function aMinuteLater (env: Awaited<ReturnType<typeof createTestEnv>>, signupId: string): Promise<void> {
  t.equal(await env.redis.del(`${env.config.redisPrefix}signup:{${signupId}}:cooldown`), 1, 'a cooldown was running')
}

t.test('sign-up keeps nothing in Postgres and nothing readable in Redis until the code is confirmed', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const email = uniqueEmail('Vendor.Person')
  const name = 'Grace Quinlan-Hopper'
  const res = await env.app.inject({
    method: 'POST',
    url: '/auth/signup',
    payload: { email, name, password: 'a very good password', type: 'vendor', workspaceName: 'Hopper Computing' }
  })
  t.equal(res.statusCode, 202)
  const { signupId, expiresAt } = res.json()
  t.match(signupId, /^[0-9a-f-]{36}$/)
  t.ok(new Date(expiresAt).getTime() > Date.now() + 23 * 3600_000, 'expires in 24 h')

  t.equal((await env.app.db.selectFrom('users').select('id').execute()).length, 0, 'no users row yet')

  const mail = await env.smtp!.waitFor((m) => m.to.includes(email.toLowerCase()))
  const code = codeFrom(mail)
  const everything = (await allRedisValues(env)).join('\n')
  t.ok(everything.length > 0, 'there is state in Redis')
  for (const secret of [email.toLowerCase(), 'Vendor.Person', name, 'Grace', 'Hopper Computing', 'a very good password', code]) {
    t.notOk(everything.toLowerCase().includes(secret.toLowerCase()), `"${secret}" is nowhere in Redis in plaintext`)
  }

  const verified = await env.app.inject({ method: 'POST', url: '/auth/signup/verify', payload: { signupId, code } })
  t.equal(verified.statusCode, 201, 'verified')
  const body = verified.json()
  t.equal(body.user.email, email.toLowerCase())
  t.equal(body.user.status, 'active')
  t.equal(body.user.type, 'vendor')
  t.ok(body.user.verifiedAt)
  t.notOk('passwordHash' in body.user, 'no password hash in the response')
  t.equal(body.workspace.name, 'Hopper Computing')
  t.equal(body.workspace.ownerId, body.user.id)
  t.equal(body.session.workspaceId, body.workspace.id, 'the session starts in the new workspace')
  t.ok(body.tokens.accessToken && body.tokens.refreshToken)

  const users = await env.app.db.selectFrom('users').selectAll().execute()
  t.equal(users.length, 1)
  const members = await env.app.db.selectFrom('workspaceMembers').selectAll().execute()
  t.same(members.map((m) => [m.userId, m.role]), [[body.user.id, 'owner']], 'the vendor owns the workspace')

  const again = await env.app.inject({ method: 'POST', url: '/auth/signup/verify', payload: { signupId, code } })
  t.equal(again.statusCode, 400, 'the pending state is gone after verification')

  const me = await env.app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${body.tokens.accessToken}` } })
  t.equal(me.statusCode, 200)
  t.same(me.json().workspaces.map((w: any) => w.role), ['owner'])
  await env.smtp!.waitFor((m) => m.subject === 'Welcome to Bazaar' && m.to.includes(email.toLowerCase()))
})

t.test('a customer sign-up without a workspace name creates no workspace', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const email = uniqueEmail()
  const { signupId } = (await env.app.inject({ method: 'POST', url: '/auth/signup', payload: { email, name: 'Cee' } })).json()
  const code = codeFrom(await env.smtp!.waitFor((m) => m.to.includes(email)))
  const res = await env.app.inject({ method: 'POST', url: '/auth/signup/verify', payload: { signupId, code } })
  t.equal(res.statusCode, 201)
  t.equal(res.json().workspace, null)
  t.equal(res.json().user.hasPassword, false, 'a passwordless account')
  t.equal((await env.app.db.selectFrom('workspaces').select('id').execute()).length, 0)
})

t.test('a tampered sealed value fails verification cleanly', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const email = uniqueEmail()
  const { signupId } = (await env.app.inject({ method: 'POST', url: '/auth/signup', payload: { email, name: 'Tamper' } })).json()
  const code = codeFrom(await env.smtp!.waitFor((m) => m.to.includes(email)))
  const key = `${env.config.redisPrefix}signup:{${signupId}}`
  const sealed = (await env.redis.get(key))!
  const bytes = Buffer.from(sealed, 'base64url')
  bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x01
  await env.redis.set(key, bytes.toString('base64url'), 'KEEPTTL')

  const res = await env.app.inject({ method: 'POST', url: '/auth/signup/verify', payload: { signupId, code } })
  t.equal(res.statusCode, 400)
  t.equal(res.json().code, 'INVALID_CODE')
  t.equal((await env.app.db.selectFrom('users').select('id').execute()).length, 0, 'nothing was created')
})

t.test('five wrong codes burn the code; a resent code works and the old one does not', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const email = uniqueEmail()
  const { signupId } = (await env.app.inject({ method: 'POST', url: '/auth/signup', payload: { email, name: 'Burn' } })).json()
  const code = codeFrom(await env.smtp!.waitFor((m) => m.to.includes(email)))
  const wrong = code === '000000' ? '111111' : '000000'
  for (let i = 1; i <= 5; i++) {
    const res = await env.app.inject({ method: 'POST', url: '/auth/signup/verify', payload: { signupId, code: wrong } })
    t.equal(res.statusCode, 400)
    t.equal(res.json().code, 'INVALID_CODE', `wrong code ${i}`)
  }
  const burnt = await env.app.inject({ method: 'POST', url: '/auth/signup/verify', payload: { signupId, code } })
  t.equal(burnt.statusCode, 400)
  t.equal(burnt.json().code, 'CODE_BURNT', 'even the right code fails after five wrong ones')

  const tooSoon = await env.app.inject({ method: 'POST', url: '/auth/signup/resend', payload: { signupId } })
  t.equal(tooSoon.statusCode, 429, 'one code per minute')
  t.ok(Number(tooSoon.headers['retry-after']) > 0)

  await aMinuteLater(env, signupId)

  const resent = await env.app.inject({ method: 'POST', url: '/auth/signup/resend', payload: { signupId } })
  t.equal(resent.statusCode, 202)
  const mails = () => env.smtp!.messages.filter((m) => m.to.includes(email))
  await env.smtp!.waitFor((m) => m.to.includes(email) && mails().length >= 2)
  const fresh = codeFrom(mails()[1]!)
  if (fresh !== code) {
    const old = await env.app.inject({ method: 'POST', url: '/auth/signup/verify', payload: { signupId, code } })
    t.equal(old.statusCode, 400, 'the old code stopped working')
  }
  const ok = await env.app.inject({ method: 'POST', url: '/auth/signup/verify', payload: { signupId, code: fresh } })
  t.equal(ok.statusCode, 201, 'the new code works')
})

t.test('a registered email gets the same answer and a different email', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const existing = await createUser(env, { name: 'Already Here' })
  const res = await env.app.inject({ method: 'POST', url: '/auth/signup', payload: { email: existing.email, name: 'Someone Else', password: 'another password!' } })
  t.equal(res.statusCode, 202)
  t.same(Object.keys(res.json()).sort(), ['expiresAt', 'signupId'])
  const mail = await env.smtp!.waitFor((m) => m.to.includes(existing.email))
  t.equal(mail.subject, 'You already have a Bazaar account')
  t.notMatch(mail.text, /\b\d{6}\b/, 'no code to complete it with')
  t.equal((await env.app.db.selectFrom('users').select('id').execute()).length, 1, 'no second account')
})

t.test('bad input names the field and changes nothing', async (t) => {
  const env = await createTestEnv(t)
  for (const [payload, pointer] of [
    [{ email: 'not-an-email', name: 'X' }, '/body/email'],
    [{ email: 'a@b.co' }, '/body/name'],
    [{ email: 'a@b.co', name: 'X', password: 'short' }, '/body/password'],
    [{ email: 'a@b.co', name: 'X', type: 'admin' }, '/body/type'],
    [{ email: 'a@b.co', name: 'X', status: 'active' }, '/body/status']
  ] as const) {
    const res = await env.app.inject({ method: 'POST', url: '/auth/signup', payload })
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.equal(res.json().errors[0].pointer, pointer)
  }
  const verify = await env.app.inject({ method: 'POST', url: '/auth/signup/verify', payload: { signupId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f', code: '12345' } })
  t.equal(verify.json().errors[0].pointer, '/body/code')
  const keys = await keysMatching(env.redis, `${env.config.redisPrefix}signup:*`)
  t.same(keys, [], 'no pending sign-up was stored')
})
