import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { bearer, createUser, login, PASSWORD } from '../../helpers/auth.ts'
import { createWorkspace } from '../../../src/modules/workspaces/public.ts'

const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1'

t.test('the caller lists their live sessions, the current one marked', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const laptop = await login(env.app, user.email)
  const phone = await login(env.app, user.email, PASSWORD, { headers: { 'user-agent': IPHONE }, analytics: { utmSource: 'app-store' } })
  const other = await createUser(env)
  await login(env.app, other.email)

  const res = await env.app.inject({ method: 'GET', url: '/sessions', headers: bearer(phone.accessToken) })
  t.equal(res.statusCode, 200)
  const items = res.json().items
  t.equal(items.length, 2, 'only the caller\'s sessions')
  const current = items.find((s: any) => s.current)
  t.equal(current.id, phone.sessionId)
  t.match(current, { deviceType: 'mobile', deviceName: 'Apple iPhone', browser: 'Safari', os: 'iOS', osVersion: '17.1', utmSource: 'app-store' })
  t.ok(items.find((s: any) => s.id === laptop.sessionId && s.current === false))
  t.ok(current.totalRequests >= 2, 'requests are counted')
})

t.test('ending all other sessions keeps the current one', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const keep = await login(env.app, user.email)
  const others = [await login(env.app, user.email), await login(env.app, user.email)]
  const res = await env.app.inject({ method: 'DELETE', url: '/sessions', headers: bearer(keep.accessToken) })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { ended: 2 })
  for (const s of others) t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(s.accessToken) })).statusCode, 401)
  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(keep.accessToken) })).statusCode, 200)
})

t.test('another user\'s session id is not found', async (t) => {
  const env = await createTestEnv(t)
  const a = await login(env.app, (await createUser(env)).email)
  const b = await login(env.app, (await createUser(env)).email)
  const res = await env.app.inject({ method: 'DELETE', url: `/sessions/${b.sessionId}`, headers: bearer(a.accessToken) })
  t.equal(res.statusCode, 404)
  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(b.accessToken) })).statusCode, 200, 'untouched')
  const bad = await env.app.inject({ method: 'DELETE', url: '/sessions/not-a-uuid', headers: bearer(a.accessToken) })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().errors[0].pointer, '/params/id')
})

t.test('activity counters add up; the current workspace must be one of the caller\'s', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env, { type: 'vendor' })
  const stranger = await createUser(env, { type: 'vendor' })
  const [mine, theirs] = await env.app.db.transaction().execute(async (trx) => [
    await createWorkspace(trx, { name: 'Mine', ownerId: user.id }, env.app.random),
    await createWorkspace(trx, { name: 'Theirs', ownerId: stranger.id }, env.app.random)
  ])
  const s = await login(env.app, user.email)
  t.equal(s.body.session.workspaceId, mine!.id, 'a user in exactly one workspace starts in it')

  for (const body of [{ pagesVisited: 3 }, { pagesVisited: 2, actionsPerformed: 1 }]) {
    t.equal((await env.app.inject({ method: 'POST', url: '/sessions/current/activity', headers: bearer(s.accessToken), payload: body })).statusCode, 204)
  }
  const negative = await env.app.inject({ method: 'POST', url: '/sessions/current/activity', headers: bearer(s.accessToken), payload: { pagesVisited: -1 } })
  t.equal(negative.statusCode, 400)
  const listed = (await env.app.inject({ method: 'GET', url: '/sessions', headers: bearer(s.accessToken) })).json().items[0]
  t.equal(listed.pagesVisited, 5)
  t.equal(listed.actionsPerformed, 1)

  const foreign = await env.app.inject({ method: 'PATCH', url: '/sessions/current', headers: bearer(s.accessToken), payload: { workspaceId: theirs!.id } })
  t.equal(foreign.statusCode, 404, 'not a member: the workspace is not found')
  const cleared = await env.app.inject({ method: 'PATCH', url: '/sessions/current', headers: bearer(s.accessToken), payload: { workspaceId: null } })
  t.equal(cleared.statusCode, 200)
  t.equal(cleared.json().workspaceId, null)
  const back = await env.app.inject({ method: 'PATCH', url: '/sessions/current', headers: bearer(s.accessToken), payload: { workspaceId: mine!.id } })
  t.equal(back.json().workspaceId, mine!.id)
  const row = await env.app.db.selectFrom('sessions').select('workspaceId').where('id', '=', s.sessionId).executeTakeFirstOrThrow()
  t.equal(row.workspaceId, mine!.id, 'written through')
})

t.test('a sign-in from a new device sends a new-sign-in email; a known device does not', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const user = await createUser(env)
  await login(env.app, user.email, PASSWORD, { headers: { 'user-agent': IPHONE } })
  const first = await env.smtp!.waitFor((m) => m.to.includes(user.email) && /new sign-in/i.test(m.subject))
  t.match(first.text, /Safari on iOS/)
  t.match(first.text, /Time: \d{4}-\d\d-\d\dT/)
  await login(env.app, user.email, PASSWORD, { headers: { 'user-agent': IPHONE } })
  await login(env.app, user.email, PASSWORD, { headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/125.0' } })
  await env.smtp!.waitFor((m) => m.to.includes(user.email) && /Firefox/.test(m.text))
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(env.smtp!.messages.filter((m) => /new sign-in/i.test(m.subject)).length, 2, 'one per new device')
})

t.test('platform admins list and count sessions; others may not', async (t) => {
  const env = await createTestEnv(t)
  const admin = await createUser(env, { type: 'admin' })
  const customer = await createUser(env)
  const adminSession = await login(env.app, admin.email)
  const customerSession = await login(env.app, customer.email, PASSWORD, { headers: { 'user-agent': IPHONE }, analytics: { utmSource: 'ads' } })
  await env.app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(customerSession.accessToken) })
  const again = await login(env.app, customer.email)

  const forbidden = await env.app.inject({ method: 'GET', url: '/admin/sessions', headers: bearer(again.accessToken) })
  t.equal(forbidden.statusCode, 403)
  t.equal((await env.app.inject({ method: 'GET', url: '/admin/sessions' })).statusCode, 401)

  const all = await env.app.inject({ method: 'GET', url: `/admin/sessions?userId=${customer.id}`, headers: bearer(adminSession.accessToken) })
  t.equal(all.statusCode, 200)
  t.equal(all.json().items.length, 2)
  const active = await env.app.inject({ method: 'GET', url: `/admin/sessions?userId=${customer.id}&active=true`, headers: bearer(adminSession.accessToken) })
  t.same(active.json().items.map((s: any) => s.id), [again.sessionId])
  const ended = await env.app.inject({ method: 'GET', url: `/admin/sessions?userId=${customer.id}&active=false`, headers: bearer(adminSession.accessToken) })
  t.equal(ended.json().items[0].endReason, 'logout')

  const page1 = await env.app.inject({ method: 'GET', url: '/admin/sessions?limit=2', headers: bearer(adminSession.accessToken) })
  t.equal(page1.json().items.length, 2)
  const page2 = await env.app.inject({ method: 'GET', url: `/admin/sessions?limit=2&cursor=${page1.json().nextCursor}`, headers: bearer(adminSession.accessToken) })
  t.equal(page2.json().items.length, 1)
  t.equal(page2.json().nextCursor, null)
  const ids = [...page1.json().items, ...page2.json().items].map((s: any) => s.id)
  t.equal(new Set(ids).size, 3, 'no repeats across pages')
  const badCursor = await env.app.inject({ method: 'GET', url: '/admin/sessions?cursor=bogus', headers: bearer(adminSession.accessToken) })
  t.equal(badCursor.statusCode, 400)
  t.equal(badCursor.json().errors[0].pointer, '/querystring/cursor')

  const stats = await env.app.inject({ method: 'GET', url: '/admin/sessions/stats', headers: bearer(adminSession.accessToken) })
  t.equal(stats.statusCode, 200)
  const body = stats.json()
  t.equal(body.total, 3)
  t.equal(body.active, 2)
  t.same(body.byDeviceType.find((b: any) => b.key === 'mobile'), { key: 'mobile', count: 1 })
  t.same(body.byUtmSource.find((b: any) => b.key === 'ads'), { key: 'ads', count: 1 })
})
