import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { bearer, codeFrom, createUser, login, PASSWORD, uniqueEmail } from '../../helpers/auth.ts'
import { ManualClock } from '../../../src/platform/clock.ts'

// Per-account throttles count a try before judging it (INCR, then compare), so parallel
// guesses cannot all slip past a check made before the count; and the per-IP limiter lets a
// request skip it only once its credentials were verified.

const address = (i: number) => `10.77.${Math.floor(i / 250)}.${i % 250}`

t.test('30 parallel wrong passwords for one account: at most 10 are judged, the rest are 429', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => env.app.inject({
    method: 'POST', url: '/auth/login', remoteAddress: address(i), payload: { email: user.email, password: `wrong guess ${i}` }
  })))
  const statuses = results.map((r) => r.statusCode)
  t.equal(statuses.filter((s) => s === 401).length, 10, 'exactly the limit is judged')
  t.equal(statuses.filter((s) => s === 429).length, 20, 'every other guess is throttled')
  const limited = results.find((r) => r.statusCode === 429)!
  t.equal(limited.json().code, 'RATE_LIMITED')
  t.ok(Number(limited.headers['retry-after']) > 0, 'with retry-after')
  const right = await env.app.inject({ method: 'POST', url: '/auth/login', remoteAddress: '10.78.0.1', payload: { email: user.email, password: PASSWORD } })
  t.equal(right.statusCode, 429, 'the account stays throttled')
})

t.test('an unknown email is throttled exactly like a known one', async (t) => {
  const env = await createTestEnv(t)
  const email = uniqueEmail('ghost')
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => env.app.inject({
    method: 'POST', url: '/auth/login', remoteAddress: address(i), payload: { email, password: `wrong guess ${i}` }
  })))
  t.equal(results.filter((r) => r.statusCode === 401).length, 10)
  t.equal(results.filter((r) => r.statusCode === 429).length, 20)
})

t.test('a right password resets the count; wrong current passwords on change are counted first too', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  for (let i = 0; i < 9; i++) {
    t.equal((await env.app.inject({ method: 'POST', url: '/auth/login', remoteAddress: address(i), payload: { email: user.email, password: 'nope nope nope' } })).statusCode, 401)
  }
  const session = await login(env.app, user.email)
  t.ok(session.accessToken, 'the tenth try, right, signs in and resets the count')

  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => env.app.inject({
    method: 'POST', url: '/auth/password/change', headers: bearer(session.accessToken), payload: { currentPassword: `wrong ${i}`, newPassword: 'a whole new password' }
  })))
  t.equal(results.filter((r) => r.statusCode === 401).length, 10, 'ten wrong current passwords are judged')
  t.equal(results.filter((r) => r.statusCode === 429).length, 10, 'the rest are throttled')
})

t.test('parallel wrong sign-in codes: at most five are judged, then the code is void', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const user = await createUser(env)
  await env.app.inject({ method: 'POST', url: '/auth/otp/send', payload: { email: user.email } })
  const code = codeFrom(await env.smtp!.waitFor((m) => m.to.includes(user.email)))
  const wrong = code === '000000' ? '111111' : '000000'
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => env.app.inject({
    method: 'POST', url: '/auth/otp/verify', remoteAddress: address(i), payload: { email: user.email, code: wrong }
  })))
  t.same(results.map((r) => r.statusCode), Array(12).fill(401))
  const right = await env.app.inject({ method: 'POST', url: '/auth/otp/verify', remoteAddress: '10.79.0.1', payload: { email: user.email, code } })
  t.equal(right.statusCode, 401, 'after the parallel burst even the right code fails')
  t.equal(right.json().code, 'INVALID_CODE')
})

t.test('parallel wrong sign-up codes: at most five are judged before the code burns', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const email = uniqueEmail()
  const { signupId } = (await env.app.inject({ method: 'POST', url: '/auth/signup', payload: { email, name: 'Parallel' } })).json()
  const code = codeFrom(await env.smtp!.waitFor((m) => m.to.includes(email)))
  const wrong = code === '000000' ? '111111' : '000000'
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => env.app.inject({
    method: 'POST', url: '/auth/signup/verify', remoteAddress: address(i), payload: { signupId, code: wrong }
  })))
  t.equal(results.filter((r) => r.json().code === 'INVALID_CODE').length, 5, 'five wrong codes judged')
  t.equal(results.filter((r) => r.json().code === 'CODE_BURNT').length, 7, 'the rest find the code burnt')
  const right = await env.app.inject({ method: 'POST', url: '/auth/signup/verify', remoteAddress: '10.79.0.2', payload: { signupId, code } })
  t.equal(right.json().code, 'CODE_BURNT')
})

t.test('the per-IP limit holds for requests that merely carry an Authorization header or a cookie', async (t) => {
  const env = await createTestEnv(t, { config: { rateLimitMax: 5 } })
  const burst = async (headers: Record<string, string>, ip: string) => {
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) {
      statuses.push((await env.app.inject({ method: 'GET', url: '/auth/me', remoteAddress: ip, headers })).statusCode)
    }
    return statuses
  }
  const limitedAfterFive = [401, 401, 401, 401, 401, 429, 429, 429]
  t.same(await burst({ authorization: 'Bearer garbage' }, '198.51.100.1'), limitedAfterFive, 'a garbage bearer token')
  t.same(await burst({ authorization: 'Basic Zm9vOmJhcg==' }, '198.51.100.2'), limitedAfterFive, 'another scheme')
  t.same(await burst({ cookie: 'access_token=garbage' }, '198.51.100.3'), limitedAfterFive, 'a garbage access_token cookie')
  t.same(await burst({ cookie: 'theme=dark' }, '198.51.100.4'), limitedAfterFive, 'an unrelated cookie')
  const last = await env.app.inject({ method: 'GET', url: '/sessions', remoteAddress: '198.51.100.1', headers: { authorization: 'Bearer garbage' } })
  t.equal(last.statusCode, 429, 'on every signed-in route')
  t.equal(last.json().code, 'RATE_LIMITED')
  t.ok(Number(last.headers['retry-after']) > 0)
})

t.test('verified callers are limited per session, not per IP', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock, config: { rateLimitMax: 5 } })
  const a = await login(env.app, (await createUser(env)).email)
  const b = await login(env.app, (await createUser(env)).email)
  const statuses: number[] = []
  // Two users behind one address: 8 requests from the IP, 4 per session.
  for (let i = 0; i < 4; i++) {
    for (const s of [a, b]) statuses.push((await env.app.inject({ method: 'GET', url: '/auth/me', remoteAddress: '203.0.113.50', headers: s.headers })).statusCode)
  }
  t.same(statuses, Array(8).fill(200), 'not limited by the shared address')
  const fifth = await env.app.inject({ method: 'GET', url: '/auth/me', remoteAddress: '203.0.113.50', headers: a.headers })
  const sixth = await env.app.inject({ method: 'GET', url: '/auth/me', remoteAddress: '203.0.113.50', headers: a.headers })
  t.same([fifth.statusCode, sixth.statusCode], [200, 429], 'each session has its own limit')
})

t.test('the per-IP limit counts an IPv6 /64 as one client, and an IPv4-mapped address as its IPv4 address', async (t) => {
  const env = await createTestEnv(t, { config: { rateLimitMax: 5 } })
  const probe = (remoteAddress: string) => env.app.inject({ method: 'GET', url: '/auth/me', remoteAddress, headers: { authorization: 'Bearer garbage' } })
  // One subscriber's /64 holds 2^64 addresses: a new one per request buys no new allowance.
  const rotating = ['2001:db8:7:1::1', '2001:db8:7:1::2', '2001:db8:7:1:ffff:ffff:ffff:ffff', '2001:0db8:0007:0001:0:0:0:abcd', '2001:DB8:7:1::5', '2001:db8:7:1::6']
  const statuses: number[] = []
  for (const address of rotating) statuses.push((await probe(address)).statusCode)
  t.same(statuses, [401, 401, 401, 401, 401, 429], 'six addresses of one /64: limited after five')
  t.equal((await probe('2001:db8:7:2::1')).statusCode, 401, 'the next /64 is another client')

  const mapped: number[] = []
  for (let i = 0; i < 6; i++) mapped.push((await probe(i % 2 ? '::ffff:192.0.2.77' : '192.0.2.77')).statusCode)
  t.same(mapped, [401, 401, 401, 401, 401, 429], 'an IPv4 address and its IPv4-mapped form share one count')
})
