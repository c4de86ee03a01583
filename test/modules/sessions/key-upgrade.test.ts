import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { createUser, login } from '../../helpers/auth.ts'
import { up } from '../../../migrations/20261130_C_end_sessions_before_cluster_keys.ts'

// Sessions moved to hash-tagged keys whose tag (the user's bucket) the session id carries in its
// last two hex digits. A session id from before (or one edited by a client) names no stored
// session: refused with 401, never a 500 or another user's session. The migration records the
// sessions stored under the old keys as ended, so no row stays active for good.

t.test('a session id whose bucket does not match is refused like an unknown one', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const session = await login(env.app, user.email)
  const [id, secret] = session.refreshToken.split('.') as [string, string]
  const last = id.slice(-2)
  const otherBucket = ((parseInt(last, 16) + 1) % 256).toString(16).padStart(2, '0')
  const forged = `${id.slice(0, -2)}${otherBucket}.${secret}`
  const refreshed = await env.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: forged } })
  t.equal(refreshed.statusCode, 401)
  t.equal(refreshed.json().code, 'INVALID_REFRESH_TOKEN')
  const ended = await env.app.inject({ method: 'DELETE', url: `/sessions/${id.slice(0, -2)}${otherBucket}`, headers: session.headers })
  t.equal(ended.statusCode, 404, 'no such session to end')
  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: session.headers })).statusCode, 200, 'the real session is untouched')
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: session.refreshToken } })).statusCode, 200)
})

t.test('the upgrade migration ends the sessions stored under the old keys, once', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const before = await login(env.app, user.email)
  await env.app.db.updateTable('sessions').set({ endedAt: new Date(), isActive: false, endReason: 'logout' }).where('id', '=', before.sessionId).execute()
  const open = await login(env.app, user.email)
  await up(env.app.db)
  const rows = await env.app.db.selectFrom('sessions').select(['id', 'isActive', 'endReason']).where('userId', '=', user.id).orderBy('id').execute()
  t.same(rows.map((r) => [r.id, r.isActive, r.endReason]).sort(), [[before.sessionId, false, 'logout'], [open.sessionId, false, 'revoked']].sort(),
    'the open one is revoked; an ended one keeps its reason')
})
