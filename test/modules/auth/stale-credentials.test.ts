import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { bearer, cookiesOf, createUser, login, PASSWORD } from '../../helpers/auth.ts'

// Routes with `auth: 'optional'` (sign-in, code sign-in, public views) treat an ended, expired
// or forged token as no token at all, and expire stale auth cookies, so a browser holding one
// can always sign in again.

const ORIGIN = 'http://localhost:3000'

function expiredCookies (res: { headers: Record<string, unknown> }): string[] {
  const raw = res.headers['set-cookie']
  const all = raw === undefined ? [] : Array.isArray(raw) ? raw as string[] : [raw as string]
  return all.filter((c) => /Max-Age=0/i.test(c) || /Expires=Thu, 01 Jan 1970/i.test(c)).map((c) => c.split('=')[0]!)
}

t.test('signing in with an ended session\'s bearer token, or a garbage one, creates a fresh session', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const old = await login(env.app, user.email)
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/logout', headers: old.headers })).statusCode, 204)

  const again = await env.app.inject({ method: 'POST', url: '/auth/login', headers: bearer(old.accessToken), payload: { email: user.email, password: PASSWORD } })
  t.equal(again.statusCode, 200, 'the ended session\'s token does not block sign-in')
  t.not(again.json().session.id, old.sessionId, 'a new session')
  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(again.json().tokens.accessToken) })).statusCode, 200)

  for (const authorization of ['Bearer not.a.jwt', 'Bearer', 'Basic Zm9vOmJhcg==']) {
    const res = await env.app.inject({ method: 'POST', url: '/auth/login', headers: { authorization }, payload: { email: user.email, password: PASSWORD } })
    t.equal(res.statusCode, 200, authorization)
    t.equal(res.json().user.id, user.id)
  }
  const wrong = await env.app.inject({ method: 'POST', url: '/auth/login', headers: bearer(old.accessToken), payload: { email: user.email, password: 'not the password' } })
  t.equal(wrong.statusCode, 401, 'still judged on the credentials sent')
  t.equal(wrong.json().code, 'INVALID_CREDENTIALS')
})

t.test('a browser with stale cookies signs in again and gets fresh cookies', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const first = await env.app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: PASSWORD, mode: 'cookie' } })
  const cookies = cookiesOf(first)
  const jar = `access_token=${cookies.access_token!.value}; refresh_token=${cookies.refresh_token!.value}; csrf_token=${cookies.csrf_token!.value}`
  // The session ends elsewhere (e.g. logout-all from another device).
  const other = await login(env.app, user.email)
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/logout-all', headers: other.headers })).statusCode, 204)
  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: { cookie: jar } })).statusCode, 401, 'the cookies are stale')

  const again = await env.app.inject({ method: 'POST', url: '/auth/login', headers: { cookie: jar, origin: ORIGIN }, payload: { email: user.email, password: PASSWORD, mode: 'cookie' } })
  t.equal(again.statusCode, 200, 'signing in again works')
  const fresh = cookiesOf(again)
  t.ok(fresh.access_token?.value, 'a new access cookie')
  t.not(fresh.access_token!.value, cookies.access_token!.value)
  t.ok(fresh.refresh_token?.value, 'a new refresh cookie')
  const me = await env.app.inject({ method: 'GET', url: '/auth/me', headers: { cookie: `access_token=${fresh.access_token!.value}` } })
  t.equal(me.statusCode, 200, 'and they work')
  t.not(again.json().session.id, first.json().session.id)
})

t.test('a public route answers a stale or forged cookie anonymously and expires it', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const session = await login(env.app, user.email)
  await env.app.inject({ method: 'POST', url: '/auth/logout', headers: session.headers })

  const stale = await env.app.inject({ method: 'GET', url: '/vendor-profiles', headers: { cookie: `access_token=${session.accessToken}; csrf_token=x` } })
  t.equal(stale.statusCode, 200, 'answered as for an anonymous caller')
  t.same(expiredCookies(stale).sort(), ['access_token', 'csrf_token', 'refresh_token'], 'the stale auth cookies are expired')

  const forged = await env.app.inject({ method: 'GET', url: '/vendor-profiles', headers: { cookie: 'access_token=forged' } })
  t.equal(forged.statusCode, 200)
  t.ok(expiredCookies(forged).includes('access_token'))

  const bearerStale = await env.app.inject({ method: 'GET', url: '/vendor-profiles', headers: bearer(session.accessToken) })
  t.equal(bearerStale.statusCode, 200, 'a stale bearer token is anonymous too')
  t.same(expiredCookies(bearerStale), [], 'and no cookie is touched')

  const live = await login(env.app, user.email)
  const ok = await env.app.inject({ method: 'GET', url: '/vendor-profiles', headers: live.headers })
  t.equal(ok.statusCode, 200)
  t.same(expiredCookies(ok), [], 'a live token clears nothing')

  const required = await env.app.inject({ method: 'GET', url: '/auth/me', headers: { cookie: `access_token=${session.accessToken}` } })
  t.equal(required.statusCode, 401, 'routes that require a sign-in still refuse it')
  t.equal(required.json().code, 'SESSION_ENDED')
})

t.test('a refresh with a dead refresh cookie is refused and the auth cookies are expired', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const first = await env.app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: PASSWORD, mode: 'cookie' } })
  const cookies = cookiesOf(first)
  const jar = `access_token=${cookies.access_token!.value}; refresh_token=${cookies.refresh_token!.value}; csrf_token=${cookies.csrf_token!.value}`
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: jar, origin: ORIGIN } })).statusCode, 204)

  const res = await env.app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: jar, origin: ORIGIN } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'INVALID_REFRESH_TOKEN')
  t.same(expiredCookies(res).sort(), ['access_token', 'csrf_token', 'refresh_token'])
  const bodyToken = await env.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: cookies.refresh_token!.value } })
  t.equal(bodyToken.statusCode, 401)
  t.same(expiredCookies(bodyToken), [], 'a body token touches no cookie')
})

t.test('routes that require a sign-in refuse a stale cookie and expire it, so logout and /auth/me never leave a browser stuck with it', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const res = await env.app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: user.password!, mode: 'cookie' } })
  const cookies = Object.fromEntries(res.cookies.map((c) => [c.name, c.value]))
  const cookie = `access_token=${cookies.access_token}; refresh_token=${cookies.refresh_token}; csrf_token=${cookies.csrf_token}`
  const headers = { cookie, 'x-csrf-token': cookies.csrf_token! }
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/logout', headers })).statusCode, 204)

  for (const [method, url] of [['POST', '/auth/logout'], ['POST', '/auth/logout-all'], ['GET', '/auth/me'], ['GET', '/sessions']] as const) {
    const stale = await env.app.inject({ method, url, headers })
    t.equal(stale.statusCode, 401, `${method} ${url}: still refused`)
    t.equal(stale.json().code, 'SESSION_ENDED')
    t.same(expiredCookies(stale).sort(), ['access_token', 'csrf_token', 'refresh_token'], `${method} ${url}: the dead cookies are expired`)
  }
  const forged = await env.app.inject({ method: 'GET', url: '/auth/me', headers: { cookie: 'access_token=forged' } })
  t.equal(forged.statusCode, 401)
  t.ok(expiredCookies(forged).includes('access_token'), 'a forged cookie is expired too')
  const bearerStale = await env.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(cookies.access_token!) })
  t.equal(bearerStale.statusCode, 401)
  t.same(expiredCookies(bearerStale), [], 'a bearer caller\'s cookies are not touched')
})
