import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { bearer, createUser, login } from '../../helpers/auth.ts'
import { setUserStatus } from '../../../src/modules/users/service.ts'

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
  await setUserStatus(env.app.deps, null, user.id, 'suspended')
  t.equal((await me(env.app, a.accessToken)).statusCode, 401)
  t.equal((await me(env.app, b.accessToken)).statusCode, 401)
  const reasons = await env.app.db.selectFrom('sessions').select('endReason').execute()
  t.same(reasons.map((r) => r.endReason), ['suspended', 'suspended'])
})
