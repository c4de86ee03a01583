import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { bearer, createUser, login, PASSWORD, uniqueEmail } from '../../helpers/auth.ts'
import { ManualClock } from '../../../src/platform/clock.ts'

const me = (app: any, token: string) => app.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) })

t.test('forgot/reset: a single-use emailed link; the reset ends every session', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const user = await createUser(env)
  const a = await login(env.app, user.email)
  const b = await login(env.app, user.email)

  const forgot = await env.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: user.email } })
  t.equal(forgot.statusCode, 202)
  const mail = await env.smtp!.waitFor((m) => m.to.includes(user.email) && /reset/i.test(m.subject))
  const token = decodeURIComponent(/token=([^\s"&<]+)/.exec(mail.text)![1]!)
  t.ok(mail.html.includes(encodeURIComponent(token)), 'the link is in the HTML part too')

  const reset = await env.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, password: 'a brand new password' } })
  t.equal(reset.statusCode, 204)
  t.equal((await me(env.app, a.accessToken)).statusCode, 401)
  t.equal((await me(env.app, b.accessToken)).statusCode, 401)
  const reasons = await env.app.db.selectFrom('sessions').select('endReason').execute()
  t.same(reasons.map((r) => r.endReason), ['password_reset', 'password_reset'])

  t.equal((await env.app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: PASSWORD } })).statusCode, 401, 'the old password is gone')
  await login(env.app, user.email, 'a brand new password')

  const again = await env.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, password: 'yet another password' } })
  t.equal(again.statusCode, 400, 'the link works once')
  t.equal(again.json().code, 'INVALID_TOKEN')
})

t.test('forgot answers the same for unknown emails and sends nothing', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const res = await env.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: uniqueEmail('nobody') } })
  t.equal(res.statusCode, 202)
  t.same(res.json(), { accepted: true })
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.equal(env.smtp!.messages.length, 0)
})

t.test('change needs a recent sign-in, the current password, and ends the other sessions', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock })
  const user = await createUser(env)
  const current = await login(env.app, user.email)
  const other = await login(env.app, user.email)
  const change = (token: string, body: object) => env.app.inject({ method: 'POST', url: '/auth/password/change', headers: bearer(token), payload: body })

  const wrong = await change(current.accessToken, { currentPassword: 'not it at all', newPassword: 'the next password' })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().code, 'INVALID_CREDENTIALS')
  const missing = await change(current.accessToken, { newPassword: 'the next password' })
  t.equal(missing.statusCode, 400)
  t.equal(missing.json().errors[0].pointer, '/body/currentPassword')

  clock.advance(11 * 60_000)
  const stale = await change(current.accessToken, { currentPassword: PASSWORD, newPassword: 'the next password' })
  t.equal(stale.statusCode, 401)
  t.equal(stale.json().code, 'REAUTH_REQUIRED', 'eleven minutes after sign-in, step-up is needed')

  // Signing in again from the same client refreshes auth_time in the same session.
  const stepUp = await env.app.inject({ method: 'POST', url: '/auth/login', headers: bearer(current.accessToken), payload: { email: user.email, password: PASSWORD } })
  t.equal(stepUp.statusCode, 200)
  t.equal(stepUp.json().session.id, current.sessionId)
  const fresh = stepUp.json().tokens.accessToken
  const ok = await change(fresh, { currentPassword: PASSWORD, newPassword: 'the next password' })
  t.equal(ok.statusCode, 204)
  t.equal((await me(env.app, fresh)).statusCode, 200, 'this session stays')
  t.equal((await me(env.app, other.accessToken)).statusCode, 401, 'the other one ended')
  await login(env.app, user.email, 'the next password')
})
