import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { bearer, codeFrom, createUser, login, PASSWORD, uniqueEmail } from '../../helpers/auth.ts'
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

t.test('a reset, or a change, voids every other outstanding reset link of the account', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const user = await createUser(env)
  const resetMails = () => env.smtp!.messages.filter((m) => m.to.includes(user.email) && /reset your/i.test(m.subject))
  const linkOf = (mail: { text: string }) => decodeURIComponent(/token=([^\s"&<]+)/.exec(mail.text)![1]!)
  const requestLinks = async (n: number) => {
    const before = resetMails().length
    for (let i = 0; i < n; i++) {
      t.equal((await env.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: user.email } })).statusCode, 202)
    }
    await env.smtp!.waitFor(() => resetMails().length >= before + n)
    return resetMails().slice(before).map(linkOf)
  }
  const reset = (token: string, password: string) => env.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, password } })

  const [a, b, c] = await requestLinks(3)
  t.equal(new Set([a, b, c]).size, 3, 'three different links')
  t.equal((await reset(b!, 'the password after b')).statusCode, 204, 'one link is used')
  for (const [name, token] of [['an older link', a!], ['a newer link', c!]] as const) {
    const res = await reset(token, 'an attacker password')
    t.equal(res.statusCode, 400, `${name} no longer works`)
    t.equal(res.json().code, 'INVALID_TOKEN')
  }
  await login(env.app, user.email, 'the password after b')

  // A change (signed in, recent) voids outstanding links too.
  const [d] = await requestLinks(1)
  const session = await login(env.app, user.email, 'the password after b')
  const change = await env.app.inject({ method: 'POST', url: '/auth/password/change', headers: bearer(session.accessToken), payload: { currentPassword: 'the password after b', newPassword: 'the changed password' } })
  t.equal(change.statusCode, 204)
  const late = await reset(d!, 'an attacker password')
  t.equal(late.statusCode, 400, 'a link sent before the change no longer works')
  t.equal(late.json().code, 'INVALID_TOKEN')
  await login(env.app, user.email, 'the changed password')
})

t.test('two outstanding reset links used at once: exactly one resets the password', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const user = await createUser(env)
  const resetMails = () => env.smtp!.messages.filter((m) => m.to.includes(user.email) && /reset your/i.test(m.subject))
  for (let i = 0; i < 3; i++) {
    t.equal((await env.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: user.email } })).statusCode, 202)
  }
  await env.smtp!.waitFor(() => resetMails().length >= 3)
  const tokens = resetMails().map((m) => decodeURIComponent(/token=([^\s"&<]+)/.exec(m.text)![1]!))
  const results = await Promise.all(tokens.map((token, i) => env.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, password: `racing password ${i}` } })))
  const statuses = results.map((r) => r.statusCode)
  t.equal(statuses.filter((s) => s === 204).length, 1, `one reset wins (${statuses.join(',')})`)
  t.same(results.filter((r) => r.statusCode !== 204).map((r) => r.json().code), ['INVALID_TOKEN', 'INVALID_TOKEN'], 'the others are void')
  const winner = statuses.indexOf(204)
  await login(env.app, user.email, `racing password ${winner}`)
})

t.test('a reset link mailed before an email change no longer works after it', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const user = await createUser(env)
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: user.email } })).statusCode, 202)
  const mail = await env.smtp!.waitFor((m) => m.to.includes(user.email) && /reset your/i.test(m.subject))
  const token = decodeURIComponent(/token=([^\s"&<]+)/.exec(mail.text)![1]!)

  // The owner moves the account to a new address (the old mailbox may be given up, or not theirs any more).
  const session = await login(env.app, user.email)
  const newEmail = uniqueEmail('moved')
  t.equal((await env.app.inject({ method: 'PATCH', url: '/users/me', headers: session.headers, payload: { email: newEmail } })).statusCode, 200)
  const code = codeFrom(await env.smtp!.waitFor((m) => m.to.includes(newEmail)))
  t.equal((await env.app.inject({ method: 'POST', url: '/users/me/email/verify', headers: session.headers, payload: { code } })).statusCode, 200)

  const res = await env.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, password: 'an attacker password' } })
  t.equal(res.statusCode, 400, 'the old mailbox\'s link is dead')
  t.equal(res.json().code, 'INVALID_TOKEN')
  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: session.headers })).statusCode, 200, 'nothing was reset: the session lives')
  await login(env.app, newEmail)

  // A link asked for at the new address works.
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: newEmail } })).statusCode, 202)
  const fresh = await env.smtp!.waitFor((m) => m.to.includes(newEmail) && /reset your/i.test(m.subject))
  const freshToken = decodeURIComponent(/token=([^\s"&<]+)/.exec(fresh.text)![1]!)
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token: freshToken, password: 'the owner\'s new password' } })).statusCode, 204)
  await login(env.app, newEmail, 'the owner\'s new password')
})
