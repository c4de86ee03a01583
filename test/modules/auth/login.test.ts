import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { bearer, createUser, login, PASSWORD, uniqueEmail } from '../../helpers/auth.ts'
import { valueOf } from '../../helpers/metrics.ts'

const METRICS_TOKEN = 'metrics-token-of-the-login-tests'
const CHROME_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'

t.test('password sign-in creates a session with the parsed device and the analytics', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env, { name: 'Ada' })
  const res = await env.app.inject({
    method: 'POST',
    url: '/auth/login',
    remoteAddress: '203.0.113.9',
    headers: { 'user-agent': CHROME_MAC },
    payload: {
      email: user.email.toUpperCase(),
      password: PASSWORD,
      analytics: { utmSource: 'newsletter', utmMedium: 'email', utmCampaign: 'launch', utmTerm: 'shoes', utmContent: 'hero', referrerUrl: 'https://news.example/a', landingPage: '/sale', timezone: 'Europe/Paris' }
    }
  })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.user.id, user.id, 'emails match case-insensitively')
  t.equal(body.tokens.tokenType, 'Bearer')
  t.equal(body.tokens.expiresIn, 900)
  const s = body.session
  t.match(s, {
    userId: user.id,
    isActive: true,
    current: true,
    sessionType: 'web',
    ipAddress: '203.0.113.9',
    deviceType: 'desktop',
    browser: 'Chrome',
    browserVersion: '124.0.0.0',
    os: 'macOS',
    userAgent: CHROME_MAC,
    utmSource: 'newsletter',
    utmMedium: 'email',
    utmCampaign: 'launch',
    utmTerm: 'shoes',
    utmContent: 'hero',
    referrerUrl: 'https://news.example/a',
    landingPage: '/sale',
    timezone: 'Europe/Paris',
    totalRequests: 1
  })
  t.match(s.deviceFingerprint, /^[0-9a-f]{32}$/)

  const row = await env.app.db.selectFrom('sessions').selectAll().where('id', '=', s.id).executeTakeFirstOrThrow()
  t.equal(row.browser, 'Chrome', 'written through to Postgres')
  t.equal(row.utmCampaign, 'launch')
  t.equal(row.authMethod, 'password')

  const minimal = await env.app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: PASSWORD } })
  t.equal(minimal.statusCode, 200, 'sign-in works with no analytics and no user agent')
  t.equal(minimal.json().session.deviceType, 'unknown')
})

t.test('wrong email and wrong password are indistinguishable', async (t) => {
  const env = await createTestEnv(t, { config: { metricsToken: METRICS_TOKEN } })
  const user = await createUser(env)
  const withoutPassword = await createUser(env, { password: null })
  const attempt = (email: string) => env.app.inject({ method: 'POST', url: '/auth/login', remoteAddress: `10.1.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`, payload: { email, password: 'not the password' } })
  const checks = async () => {
    const res = await env.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    return { account: valueOf(res.body, 'bazaar_password_checks_total', { against: 'account' }) ?? 0, standIn: valueOf(res.body, 'bazaar_password_checks_total', { against: 'stand_in' }) ?? 0 }
  }

  const before = await checks()
  const a = await attempt(user.email)
  const afterWrongPassword = await checks()
  const b = await attempt(uniqueEmail('ghost'))
  const afterUnknown = await checks()
  const c = await attempt(withoutPassword.email)
  const afterNoPassword = await checks()

  for (const res of [a, b, c]) {
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'INVALID_CREDENTIALS')
  }
  t.equal(a.json().detail, b.json().detail, 'the same words')
  t.equal(a.json().detail, c.json().detail)
  t.same(Object.keys(a.json()).sort(), Object.keys(b.json()).sort(), 'the same shape')
  // The same work: a wrong password costs one argon2id verification against the account's hash;
  // an unknown email, or an account without a password, one against a stand-in hash made with
  // the same parameters (so timing tells them apart no better than the answer does). Counted,
  // not timed: a timed comparison fails on a busy machine.
  t.same({ account: afterWrongPassword.account - before.account, standIn: afterWrongPassword.standIn - before.standIn }, { account: 1, standIn: 0 }, 'wrong password: one verification against the account')
  t.same({ account: afterUnknown.account - afterWrongPassword.account, standIn: afterUnknown.standIn - afterWrongPassword.standIn }, { account: 0, standIn: 1 }, 'unknown email: one verification against the stand-in')
  t.same({ account: afterNoPassword.account - afterUnknown.account, standIn: afterNoPassword.standIn - afterUnknown.standIn }, { account: 0, standIn: 1 }, 'no password: one verification against the stand-in')
})

t.test('only active users sign in', async (t) => {
  const env = await createTestEnv(t)
  for (const status of ['suspended', 'inactive', 'pending'] as const) {
    const user = await createUser(env, { status })
    const res = await env.app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: PASSWORD } })
    t.equal(res.statusCode, 401, status)
    t.equal(res.json().code, 'INVALID_CREDENTIALS')
  }
  const passwordless = await createUser(env, { password: null })
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/login', payload: { email: passwordless.email, password: 'anything at all' } })).statusCode, 401)
})

t.test('a burst of wrong passwords on one account is throttled with retry-after', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const statuses: number[] = []
  let limited
  for (let i = 0; i < 60; i++) {
    // Each from its own address: this is the per-account limit, not the per-IP one.
    const res = await env.app.inject({ method: 'POST', url: '/auth/login', remoteAddress: `10.2.${Math.floor(i / 250)}.${i % 250}`, payload: { email: user.email, password: `wrong ${i}` } })
    statuses.push(res.statusCode)
    if (res.statusCode === 429) limited = res
  }
  t.same(statuses.slice(0, 10), Array(10).fill(401), 'the first ten are judged')
  t.same(statuses.slice(10), Array(50).fill(429), 'the rest are throttled')
  t.ok(Number(limited!.headers['retry-after']) > 0, 'retry-after is set')
  t.equal(limited!.json().code, 'RATE_LIMITED')
  const right = await env.app.inject({ method: 'POST', url: '/auth/login', remoteAddress: '10.3.0.1', payload: { email: user.email, password: PASSWORD } })
  t.equal(right.statusCode, 429, 'while throttled, even the right password waits')
})

t.test('one address is throttled across accounts', async (t) => {
  const env = await createTestEnv(t)
  const statuses: number[] = []
  for (let i = 0; i < 25; i++) {
    const res = await env.app.inject({ method: 'POST', url: '/auth/login', remoteAddress: '198.51.100.7', payload: { email: uniqueEmail(), password: 'whatever it is' } })
    statuses.push(res.statusCode)
  }
  t.equal(statuses.filter((s) => s === 401).length, 20)
  t.equal(statuses.filter((s) => s === 429).length, 5)
})

t.test('signing in again while signed in refreshes the same session (step-up)', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const first = await login(env.app, user.email)
  const again = await env.app.inject({ method: 'POST', url: '/auth/login', headers: bearer(first.accessToken), payload: { email: user.email, password: PASSWORD } })
  t.equal(again.statusCode, 200)
  t.equal(again.json().session.id, first.sessionId, 'the same session')
  t.equal((await env.app.db.selectFrom('sessions').select('id').execute()).length, 1, 'no new session')
  const refreshed = await env.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: again.json().tokens.refreshToken } })
  t.equal(refreshed.statusCode, 200, 'its new refresh token works')
})
