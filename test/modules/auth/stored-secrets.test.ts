import t from 'tap'
import { createTestEnv, keysMatching, valuesOf, type TestEnv } from '../../helpers/app.ts'
import { bearer, codeFrom, createUser, login, uniqueEmail } from '../../helpers/auth.ts'
import { ManualClock } from '../../../src/platform/clock.ts'

// Issue 15, item 6: promises about stored secrets that nothing checked. Passwords are stored as
// argon2id with OWASP's parameters, whichever way they arrive; refresh tokens are stored only as
// hashes; the refresh grace window covers the immediately previous token and no other.

// argon2id, version 1.3, 19 MiB, 2 passes, parallelism 1 (OWASP's first recommendation).
const OWASP_ARGON2ID = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/

const hashOf = async (env: TestEnv, email: string) =>
  (await env.app.db.selectFrom('users').select('passwordHash').where('email', '=', email).executeTakeFirstOrThrow()).passwordHash

t.test('every stored password is an argon2id hash with OWASP\'s parameters: sign-up, change, reset, admin-created', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const email = uniqueEmail('hashed')
  const signup = await env.app.inject({ method: 'POST', url: '/auth/signup', payload: { email, name: 'Hashed', password: 'a sign-up password' } })
  t.equal(signup.statusCode, 202)
  const code = codeFrom(await env.smtp!.waitFor((m) => m.to.includes(email)))
  const verified = await env.app.inject({ method: 'POST', url: '/auth/signup/verify', payload: { signupId: signup.json().signupId, code } })
  t.equal(verified.statusCode, 201)
  const fromSignup = await hashOf(env, email)
  t.match(fromSignup, OWASP_ARGON2ID, 'signed up')
  t.notMatch(fromSignup, /a sign-up password/)

  const session = await login(env.app, email, 'a sign-up password')
  const changed = await env.app.inject({ method: 'POST', url: '/auth/password/change', headers: session.headers, payload: { currentPassword: 'a sign-up password', newPassword: 'a changed password' } })
  t.equal(changed.statusCode, 204)
  const fromChange = await hashOf(env, email)
  t.match(fromChange, OWASP_ARGON2ID, 'changed')
  t.not(fromChange, fromSignup)

  t.equal((await env.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email } })).statusCode, 202)
  const mail = await env.smtp!.waitFor((m) => m.to.includes(email) && /reset/i.test(m.subject))
  const token = decodeURIComponent(/token=([^\s"&<]+)/.exec(mail.text)![1]!)
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, password: 'a reset password' } })).statusCode, 204)
  t.match(await hashOf(env, email), OWASP_ARGON2ID, 'reset')

  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  const other = uniqueEmail('made')
  const made = await env.app.inject({ method: 'POST', url: '/users', headers: admin.headers, payload: { email: other, name: 'Made', type: 'customer', password: 'an admin-set password' } })
  t.equal(made.statusCode, 201, made.body)
  t.match(await hashOf(env, other), OWASP_ARGON2ID, 'created by an admin')
  t.equal((await login(env.app, other, 'an admin-set password')).userId, made.json().id, 'and each verifies')
})

t.test('refresh tokens are stored only as hashes: neither Redis nor Postgres holds a token or its secret', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const first = await login(env.app, user.email)
  const refreshed = await env.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: first.refreshToken } })
  t.equal(refreshed.statusCode, 200)
  const tokens = [first.refreshToken, refreshed.json().refreshToken as string]
  const secrets = tokens.map((token) => token.split('.')[1]!)
  t.ok(secrets.every((s) => s.length >= 43), 'secrets of at least 256 bits')

  const stored: string[] = []
  const keys = await keysMatching(env.redis, `${env.config.redisPrefix}*`)
  t.ok(keys.some((k) => k.includes(first.sessionId)), 'the session is in Redis')
  for (const key of keys) stored.push(key, ...await valuesOf(env.redis, key))
  const rows = await env.app.db.selectFrom('sessions').selectAll().execute()
  stored.push(JSON.stringify(rows))
  for (const [i, secret] of secrets.entries()) {
    t.notOk(stored.some((text) => text.includes(secret)), `the ${i === 0 ? 'rotated' : 'current'} secret is nowhere in Redis or Postgres`)
    // Nor in a reversible encoding of it.
    const hex = Buffer.from(secret, 'base64url').toString('hex')
    const base64 = Buffer.from(secret, 'base64url').toString('base64')
    t.notOk(stored.some((text) => text.includes(hex) || text.includes(base64.replace(/=+$/, ''))), 'nor its bytes in hex or base64')
  }
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: tokens[1] } })).statusCode, 200, 'and the current token still works')
})

t.test('the grace window covers the immediately previous refresh token only: an older one inside it ends the session', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock })
  const user = await createUser(env)
  const first = await login(env.app, user.email)
  const refresh = (token: string) => env.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: token } })
  const second = (await refresh(first.refreshToken)).json()
  clock.advance(1000)
  const third = (await refresh(second.refreshToken)).json()
  clock.advance(1000)

  // Two seconds after its rotation, within the 10 s window: the previous token is honoured...
  const previous = await refresh(second.refreshToken)
  t.equal(previous.statusCode, 200, 'the previous token, inside the window')
  t.equal(previous.json().refreshToken, third.refreshToken, 'gets the same successor (concurrent refreshes agree)')
  // ...the one before it is not, though it too was rotated less than 10 s ago.
  const older = await refresh(first.refreshToken)
  t.equal(older.statusCode, 401)
  t.equal(older.json().code, 'REFRESH_TOKEN_REUSED', 'two generations back is reuse')
  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(third.accessToken) })).statusCode, 401, 'the session ended: its newest access token fails')
  t.equal((await refresh(third.refreshToken)).statusCode, 401, 'and its newest refresh token')
  const row = await env.app.db.selectFrom('sessions').select(['isActive', 'endReason']).where('id', '=', first.sessionId).executeTakeFirstOrThrow()
  t.same(row, { isActive: false, endReason: 'reuse_detected' })
})
