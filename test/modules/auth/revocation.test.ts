import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { bearer, createUser, login, PASSWORD } from '../../helpers/auth.ts'
import { setUserStatus } from '../../../src/modules/users/public.ts'
import { syncListing } from '../../../src/modules/products/public.ts'

const me = (app: any, token: string) => app.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) })

t.test('logout ends the current session; its token fails on the next request', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const a = await login(env.app, user.email)
  const b = await login(env.app, user.email)
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(a.accessToken) })).statusCode, 204)
  const after = await me(env.app, a.accessToken)
  t.equal(after.statusCode, 401)
  t.equal(after.json().code, 'SESSION_ENDED')
  t.equal((await me(env.app, b.accessToken)).statusCode, 200, 'the other session lives on')
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: a.refreshToken } })).statusCode, 401, 'and its refresh token is dead too')
  const row = await env.app.db.selectFrom('sessions').select(['endReason', 'sessionDurationSec']).where('id', '=', a.sessionId).executeTakeFirstOrThrow()
  t.equal(row.endReason, 'logout')
  t.type(row.sessionDurationSec, 'number')
})

t.test('logout-all ends every session of the user', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const other = await createUser(env)
  const sessions = [await login(env.app, user.email), await login(env.app, user.email), await login(env.app, user.email)]
  const stranger = await login(env.app, other.email)
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(sessions[0]!.accessToken) })).statusCode, 204)
  for (const s of sessions) t.equal((await me(env.app, s.accessToken)).statusCode, 401)
  t.equal((await me(env.app, stranger.accessToken)).statusCode, 200, 'other users are untouched')
})

t.test('ending a session from another device', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const laptop = await login(env.app, user.email)
  const phone = await login(env.app, user.email)
  const res = await env.app.inject({ method: 'DELETE', url: `/sessions/${phone.sessionId}`, headers: bearer(laptop.accessToken) })
  t.equal(res.statusCode, 204)
  t.equal((await me(env.app, phone.accessToken)).statusCode, 401)
  t.equal((await me(env.app, laptop.accessToken)).statusCode, 200)
  const row = await env.app.db.selectFrom('sessions').select('endReason').where('id', '=', phone.sessionId).executeTakeFirstOrThrow()
  t.equal(row.endReason, 'revoked')
})

t.test('suspension ends all of the user\'s sessions at once', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const a = await login(env.app, user.email)
  const b = await login(env.app, user.email)
  await setUserStatus(env.app.deps, null, user.id, 'suspended', syncListing)
  t.equal((await me(env.app, a.accessToken)).statusCode, 401)
  t.equal((await me(env.app, b.accessToken)).statusCode, 401)
  const reasons = await env.app.db.selectFrom('sessions').select('endReason').execute()
  t.same(reasons.map((r) => r.endReason), ['suspended', 'suspended'])
})

t.test('a sign-in whose password was checked just before a password change or a suspension does not outlive it', async (t) => {
  const env = await createTestEnv(t)
  const { login: passwordLogin } = await import('../../../src/modules/auth/password-flows.ts')
  const activeSessions = async (userId: string) => Number((await env.app.db.selectFrom('sessions').select((eb) => eb.fn.countAll<string>().as('n'))
    .where('userId', '=', userId).where('isActive', '=', true).executeTakeFirstOrThrow()).n)

  /**
   * Signs in with the old password through the real service, running `meanwhile` at the one
   * moment a concurrent request could land: the password was judged right, the session is not
   * yet created (the login clears its failure count in between).
   */
  async function signInRacing (email: string, meanwhile: () => Promise<void>) {
    let fired = false
    const redis = new Proxy(env.app.deps.redis, {
      get (target, prop) {
        const value = Reflect.get(target, prop, target)
        if (prop === 'del') {
          return async (...keys: string[]) => {
            if (!fired && keys.some((k) => String(k).startsWith('limit:login-fail:'))) {
              fired = true
              await meanwhile()
            }
            return target.del(...keys)
          }
        }
        return typeof value === 'function' ? value.bind(target) : value
      }
    })
    const deps = { ...env.app.deps, redis, signAccessToken: (claims: object) => env.app.jwt.sign(claims) }
    const context = { client: { ip: '10.3.3.3', headers: {}, trustProxy: false }, cookieMode: false, current: null }
    const outcome = await passwordLogin(deps, { email, password: PASSWORD }, context).then(() => null, (err) => err)
    t.ok(fired, 'the concurrent change ran mid-sign-in')
    return outcome
  }

  const user = await createUser(env)
  const owner = await login(env.app, user.email)
  const changed = await signInRacing(user.email, async () => {
    const res = await env.app.inject({ method: 'POST', url: '/auth/password/change', headers: owner.headers, payload: { currentPassword: PASSWORD, newPassword: 'the owner\'s new password' } })
    t.equal(res.statusCode, 204)
  })
  t.match(changed, { status: 401, code: 'INVALID_CREDENTIALS' }, 'the old password no longer signs in')
  t.equal(await activeSessions(user.id), 1, 'only the owner\'s session is live')

  const admin = await createUser(env, { type: 'admin' })
  const adminSession = await login(env.app, admin.email)
  const suspended = await createUser(env)
  const refused = await signInRacing(suspended.email, async () => {
    const res = await env.app.inject({ method: 'PATCH', url: `/users/${suspended.id}/status`, headers: adminSession.headers, payload: { status: 'suspended' } })
    t.equal(res.statusCode, 200)
  })
  t.match(refused, { status: 401, code: 'INVALID_CREDENTIALS' }, 'a suspended account gets no session')
  t.equal(await activeSessions(suspended.id), 0, 'no session of the suspended account is live')
})
