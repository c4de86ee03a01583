import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { bearer, codeFrom, PASSWORD } from '../../helpers/auth.ts'
import { tenancy, type Tenancy } from '../../helpers/tenancy.ts'
import { ManualClock } from '../../../src/platform/clock.ts'

// Issue 15, item 6 (SPEC 5.4): a role change needs a recent authentication (auth_time within 10
// minutes); otherwise 401 REAUTH_REQUIRED and nothing changes. The client steps up in the same
// session by signing in again, with its password or with an emailed one-time code.

const roleOf = async (env: TestEnv, w: Tenancy, userId: string) =>
  (await env.app.db.selectFrom('workspaceMembers').select('role').where('workspaceId', '=', w.workspaceId).where('userId', '=', userId).executeTakeFirstOrThrow()).role
const changeRole = (env: TestEnv, w: Tenancy, token: string, role: string) =>
  env.app.inject({ method: 'PATCH', url: `/workspaces/${w.workspaceId}/members/${w.users.member.id}`, headers: bearer(token), payload: { role } })
const authTime = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).auth_time as number

t.test('a role change eleven minutes after sign-in needs step-up; a password sign-in in the same session gives it', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock })
  const w = await tenancy(env)
  const owner = w.users.owner
  const fresh = await changeRole(env, w, owner.session.accessToken, 'admin')
  t.equal(fresh.statusCode, 200, 'right after sign-in it is allowed')
  t.equal(await roleOf(env, w, w.users.member.id), 'admin')

  clock.advance(11 * 60_000)
  // The access token would have expired: a refresh keeps the session, not the authentication time.
  const refreshed = (await env.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: owner.session.refreshToken } })).json()
  t.equal(authTime(refreshed.accessToken), authTime(owner.session.accessToken), 'a refresh does not renew auth_time')
  const stale = await changeRole(env, w, refreshed.accessToken, 'member')
  t.equal(stale.statusCode, 401)
  t.equal(stale.json().code, 'REAUTH_REQUIRED')
  t.equal(await roleOf(env, w, w.users.member.id), 'admin', 'the role did not change')

  const stepUp = await env.app.inject({ method: 'POST', url: '/auth/login', headers: bearer(refreshed.accessToken), payload: { email: owner.email, password: PASSWORD } })
  t.equal(stepUp.statusCode, 200)
  t.equal(stepUp.json().session.id, owner.session.sessionId, 'the same session')
  t.ok(authTime(stepUp.json().tokens.accessToken) > authTime(refreshed.accessToken), 'a fresh auth_time')
  t.equal((await changeRole(env, w, stepUp.json().tokens.accessToken, 'member')).statusCode, 200)
  t.equal(await roleOf(env, w, w.users.member.id), 'member')
  t.equal(await env.app.db.selectFrom('sessions').select((eb) => eb.fn.countAll<number>().as('n')).where('userId', '=', owner.id).executeTakeFirstOrThrow().then((r) => Number(r.n)), 1, 'no second session was made')
})

t.test('step-up by a one-time code: the emailed code re-authenticates the same session', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock, smtp: true, worker: true })
  const w = await tenancy(env)
  const owner = w.users.owner
  clock.advance(11 * 60_000)
  const refreshed = (await env.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: owner.session.refreshToken } })).json()
  t.equal((await changeRole(env, w, refreshed.accessToken, 'admin')).json().code, 'REAUTH_REQUIRED')

  t.equal((await env.app.inject({ method: 'POST', url: '/auth/otp/send', payload: { email: owner.email } })).statusCode, 202)
  const code = codeFrom(await env.smtp!.waitFor((m) => m.to.includes(owner.email) && /\b\d{6}\b/.test(m.text) && !/new sign-in/i.test(m.subject)))
  const stepUp = await env.app.inject({ method: 'POST', url: '/auth/otp/verify', headers: bearer(refreshed.accessToken), payload: { email: owner.email, code } })
  t.equal(stepUp.statusCode, 200)
  t.equal(stepUp.json().session.id, owner.session.sessionId, 'the same session')
  const token = stepUp.json().tokens.accessToken
  t.equal(authTime(token), Math.floor(clock.now().getTime() / 1000), 'auth_time is the code\'s sign-in')
  t.equal((await changeRole(env, w, token, 'admin')).statusCode, 200, 'the role change is allowed now')
  t.equal(await roleOf(env, w, w.users.member.id), 'admin')

  clock.advance(11 * 60_000)
  const later = (await env.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: stepUp.json().tokens.refreshToken } })).json()
  t.equal((await changeRole(env, w, later.accessToken, 'member')).json().code, 'REAUTH_REQUIRED', 'and it lasts ten minutes, no more')
})
