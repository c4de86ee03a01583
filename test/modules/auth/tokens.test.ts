import { createHmac } from 'node:crypto'
import t from 'tap'
import { createTestEnv, testConfig } from '../../helpers/app.ts'
import { bearer, cookiesOf, createUser, login, PASSWORD } from '../../helpers/auth.ts'
import { ManualClock } from '../../../src/platform/clock.ts'

const me = (app: any, token: string) => app.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) })
const refresh = (app: any, refreshToken: string) => app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken } })

t.test('refresh rotates; a rotated token presented after the grace window ends the whole session', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock })
  const user = await createUser(env)
  const first = await login(env.app, user.email)

  const r1 = await refresh(env.app, first.refreshToken)
  t.equal(r1.statusCode, 200)
  const second = r1.json()
  t.not(second.refreshToken, first.refreshToken, 'a new refresh token')
  t.not(second.accessToken, first.accessToken, 'a new access token')
  t.equal(second.tokenType, 'Bearer')
  t.equal(second.expiresIn, env.config.accessTokenTtl)
  t.equal((await me(env.app, second.accessToken)).statusCode, 200)

  clock.advance(11_000)
  const replay = await refresh(env.app, first.refreshToken)
  t.equal(replay.statusCode, 401)
  t.equal(replay.json().code, 'REFRESH_TOKEN_REUSED')

  t.equal((await me(env.app, second.accessToken)).statusCode, 401, 'the newest access token fails')
  t.equal((await refresh(env.app, second.refreshToken)).statusCode, 401, 'the newest refresh token fails')
  const row = await env.app.db.selectFrom('sessions').select(['isActive', 'endReason', 'endedAt']).where('id', '=', first.sessionId).executeTakeFirstOrThrow()
  t.equal(row.isActive, false)
  t.equal(row.endReason, 'reuse_detected')
  t.ok(row.endedAt)
})

t.test('ten concurrent refreshes with one token inside the grace window keep the session', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const session = await login(env.app, user.email)
  const results = await Promise.all(Array.from({ length: 10 }, () => refresh(env.app, session.refreshToken)))
  t.same(results.map((r) => r.statusCode), Array(10).fill(200), 'all succeed')
  const tokens = new Set(results.map((r) => r.json().refreshToken))
  t.equal(tokens.size, 1, 'and agree on the successor')
  const [successor] = [...tokens]
  for (const r of results) t.equal((await me(env.app, r.json().accessToken)).statusCode, 200)
  const next = await refresh(env.app, successor!)
  t.equal(next.statusCode, 200, 'the successor keeps working')
  const row = await env.app.db.selectFrom('sessions').select('isActive').where('id', '=', session.sessionId).executeTakeFirstOrThrow()
  t.equal(row.isActive, true)
})

t.test('a garbage refresh token is refused without ending anything', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const session = await login(env.app, user.email)
  const forged = `${session.sessionId}.${'A'.repeat(43)}`
  const res = await refresh(env.app, forged)
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'INVALID_REFRESH_TOKEN')
  t.equal((await me(env.app, session.accessToken)).statusCode, 200, 'someone who only knows the session id cannot end it')
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/refresh' })).statusCode, 401, 'no token at all')
})

function forge (header: object, payload: object, secret: string | null): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const unsigned = `${encode(header)}.${encode(payload)}`
  const signature = secret === null ? '' : createHmac('sha256', secret).update(unsigned).digest('base64url')
  return `${unsigned}.${signature}`
}

t.test('tampered, foreign, expired and wrong-kind tokens are refused', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const session = await login(env.app, user.email)
  const claims = JSON.parse(Buffer.from(session.accessToken.split('.')[1]!, 'base64url').toString())
  t.same(Object.keys(claims).sort(), ['auth_time', 'exp', 'iat', 'jti', 'sid', 'sub', 'tkn', 'typ'])
  t.equal(claims.sub, user.id)
  t.equal(claims.sid, session.sessionId)
  t.equal(claims.typ, 'customer')

  const now = Math.floor(Date.now() / 1000)
  const cases: Array<[string, string]> = [
    ['alg none', forge({ alg: 'none', typ: 'JWT' }, claims, null)],
    ['signed with another key', forge({ alg: 'HS256', typ: 'JWT' }, claims, 'x'.repeat(40))],
    ['expired', forge({ alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now - 7200, exp: now - 3600 }, env.config.jwtSecret)],
    ['claims edited', `${session.accessToken.split('.')[0]}.${Buffer.from(JSON.stringify({ ...claims, typ: 'admin' })).toString('base64url')}.${session.accessToken.split('.')[2]}`],
    ['not an access token', forge({ alg: 'HS256', typ: 'JWT' }, { ...claims, tkn: 'refresh' }, env.config.jwtSecret)],
    ['the refresh token', session.refreshToken],
    ['garbage', 'abc.def.ghi']
  ]
  for (const [name, token] of cases) {
    const res = await me(env.app, token)
    t.equal(res.statusCode, 401, name)
    t.match(res.headers['content-type'], /problem\+json/)
  }
  const noAuth = await env.app.inject({ method: 'GET', url: '/auth/me' })
  t.equal(noAuth.statusCode, 401)
  t.equal((await me(env.app, session.accessToken)).statusCode, 200, 'the genuine token still works')
})

t.test('cookie mode: HttpOnly, SameSite=Lax cookies; foreign-origin unsafe requests are refused', async (t) => {
  const env = await createTestEnv(t, { config: { corsOrigins: ['https://shop.example'] } })
  const user = await createUser(env)
  const res = await env.app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: PASSWORD, mode: 'cookie' } })
  t.equal(res.statusCode, 200)
  t.notOk('tokens' in res.json(), 'no tokens in the body')
  const cookies = cookiesOf(res)
  t.ok(cookies.access_token?.httpOnly && cookies.refresh_token?.httpOnly, 'HttpOnly')
  t.equal(cookies.access_token?.sameSite, 'Lax')
  t.equal(cookies.refresh_token?.path, '/auth', 'the refresh cookie is scoped to /auth')
  t.notOk(cookies.access_token?.secure, 'not Secure outside production')
  const jar = `access_token=${cookies.access_token!.value}; refresh_token=${cookies.refresh_token!.value}; csrf_token=${cookies.csrf_token!.value}`

  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: { cookie: jar } })).statusCode, 200, 'a safe request needs no CSRF proof')

  const foreign = await env.app.inject({ method: 'POST', url: '/auth/logout-all', headers: { cookie: jar, origin: 'https://evil.example' } })
  t.equal(foreign.statusCode, 403)
  t.equal(foreign.json().code, 'CSRF_FAILED')
  const noProof = await env.app.inject({ method: 'POST', url: '/auth/logout-all', headers: { cookie: jar } })
  t.equal(noProof.statusCode, 403, 'no Origin and no CSRF header')
  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: { cookie: jar } })).statusCode, 200, 'nothing changed: still signed in')
  const row = await env.app.db.selectFrom('sessions').select('isActive').executeTakeFirstOrThrow()
  t.equal(row.isActive, true)

  const refreshed = await env.app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: jar, origin: 'https://shop.example' } })
  t.equal(refreshed.statusCode, 200, 'refresh by cookie from an allowed origin')
  t.notOk(refreshed.json().accessToken, 'tokens stay in cookies')
  t.ok(cookiesOf(refreshed).access_token?.value)

  const allowed = await env.app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: `access_token=${cookiesOf(refreshed).access_token!.value}; csrf_token=${cookies.csrf_token!.value}`, 'x-csrf-token': cookies.csrf_token!.value } })
  t.equal(allowed.statusCode, 204, 'the double-submit token passes')
  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: { cookie: `access_token=${cookiesOf(refreshed).access_token!.value}` } })).statusCode, 401, 'logged out')
})

t.test('cookies are Secure in production', async (t) => {
  const env = await createTestEnv(t, { config: { env: 'production' } })
  const user = await createUser(env)
  const res = await env.app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: PASSWORD, mode: 'cookie' } })
  t.equal(res.statusCode, 200)
  const cookies = cookiesOf(res)
  t.equal(cookies.access_token?.secure, true)
  t.equal(cookies.refresh_token?.secure, true)
  t.ok(res.headers['strict-transport-security'], 'HSTS in production')
  t.ok(testConfig)
})

t.test('after a step-up sign-in in the same session, an old rotated refresh token still ends the session', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock })
  const user = await createUser(env)
  const first = await login(env.app, user.email)
  const r1 = await refresh(env.app, first.refreshToken)
  t.equal(r1.statusCode, 200)
  clock.advance(11_000)
  const r2 = await refresh(env.app, r1.json().refreshToken)
  t.equal(r2.statusCode, 200)
  clock.advance(11_000)

  // Step-up: the client signs in again with its current access token, in the same session.
  const stepUp = await env.app.inject({ method: 'POST', url: '/auth/login', headers: bearer(r2.json().accessToken), payload: { email: user.email, password: PASSWORD } })
  t.equal(stepUp.statusCode, 200)
  t.equal(stepUp.json().session.id, first.sessionId, 'the same session')
  const latest = stepUp.json().tokens
  clock.advance(11_000)

  // The token rotated away by the second refresh: two generations before the step-up's.
  const res = await refresh(env.app, r1.json().refreshToken)
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'REFRESH_TOKEN_REUSED', 'an old rotated token is recognised as reused')
  t.equal((await me(env.app, latest.accessToken)).statusCode, 401, 'the session ended: its newest access token fails')
  t.equal((await refresh(env.app, latest.refreshToken)).statusCode, 401, 'and its newest refresh token')
  const row = await env.app.db.selectFrom('sessions').select(['isActive', 'endReason']).where('id', '=', first.sessionId).executeTakeFirstOrThrow()
  t.same(row, { isActive: false, endReason: 'reuse_detected' })
})

t.test('every refresh token superseded by a step-up is remembered, not just the last', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock })
  const user = await createUser(env)
  const first = await login(env.app, user.email)
  const r1 = await refresh(env.app, first.refreshToken)
  clock.advance(11_000)
  // Two step-ups in a row: the token rotated by the first refresh must still count as reused.
  let access = r1.json().accessToken
  for (let i = 0; i < 2; i++) {
    const stepUp = await env.app.inject({ method: 'POST', url: '/auth/login', headers: bearer(access), payload: { email: user.email, password: PASSWORD } })
    t.equal(stepUp.statusCode, 200)
    access = stepUp.json().tokens.accessToken
    clock.advance(11_000)
  }
  const replay = await refresh(env.app, first.refreshToken)
  t.equal(replay.statusCode, 401)
  t.equal(replay.json().code, 'REFRESH_TOKEN_REUSED')
  t.equal((await me(env.app, access)).statusCode, 401, 'the session ended')
})
