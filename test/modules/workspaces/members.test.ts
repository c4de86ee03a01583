import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { bearer, createUser, login, PASSWORD } from '../../helpers/auth.ts'
import { tenancy } from '../../helpers/tenancy.ts'
import { ManualClock } from '../../../src/platform/clock.ts'

t.test('the owner can neither leave nor be demoted or removed', async (t) => {
  const env = await createTestEnv(t)
  const world = await tenancy(env)
  const { owner, admin } = world.users
  const leave = await env.app.inject({ method: 'DELETE', url: `/workspaces/${world.workspaceId}/members/${owner.id}`, headers: owner.session.headers })
  t.equal(leave.statusCode, 409)
  t.equal(leave.json().code, 'LAST_OWNER')
  const demote = await env.app.inject({ method: 'PATCH', url: `/workspaces/${world.workspaceId}/members/${owner.id}`, headers: admin.session.headers, payload: { role: 'member' } })
  t.equal(demote.statusCode, 409)
  const remove = await env.app.inject({ method: 'DELETE', url: `/workspaces/${world.workspaceId}/members/${owner.id}`, headers: admin.session.headers })
  t.equal(remove.statusCode, 409)
  const promote = await env.app.inject({ method: 'PATCH', url: `/workspaces/${world.workspaceId}/members/${admin.id}`, headers: owner.session.headers, payload: { role: 'owner' } })
  t.equal(promote.statusCode, 400, 'ownership does not change hands by a role edit')
  const roles = await env.app.db.selectFrom('workspaceMembers').select(['userId', 'role']).where('workspaceId', '=', world.workspaceId).execute()
  t.equal(roles.filter((r) => r.role === 'owner').length, 1, 'still exactly one owner')
})

t.test('ownership transfer needs a recent sign-in; the former owner becomes admin', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock })
  const world = await tenancy(env)
  const { owner, admin } = world.users
  clock.advance(11 * 60_000)
  const stale = await env.app.inject({ method: 'POST', url: `/workspaces/${world.workspaceId}/transfer-ownership`, headers: owner.session.headers, payload: { userId: admin.id } })
  t.equal(stale.statusCode, 401)
  t.equal(stale.json().code, 'REAUTH_REQUIRED')
  const fresh = await env.app.inject({ method: 'POST', url: '/auth/login', headers: owner.session.headers, payload: { email: owner.email, password: PASSWORD } })
  const token = fresh.json().tokens.accessToken
  const outsider = await env.app.inject({ method: 'POST', url: `/workspaces/${world.workspaceId}/transfer-ownership`, headers: bearer(token), payload: { userId: world.users['non-member'].id } })
  t.equal(outsider.statusCode, 404, 'only to a member')
  const done = await env.app.inject({ method: 'POST', url: `/workspaces/${world.workspaceId}/transfer-ownership`, headers: bearer(token), payload: { userId: admin.id } })
  t.equal(done.statusCode, 200)
  t.equal(done.json().ownerId, admin.id)
  t.equal(done.json().role, 'admin')
  const del = await env.app.inject({ method: 'DELETE', url: `/workspaces/${world.workspaceId}`, headers: bearer(token) })
  t.equal(del.statusCode, 403, 'the former owner may no longer delete it')
})

t.test('removing a member ends their access on the next request; members may leave', async (t) => {
  const env = await createTestEnv(t)
  const world = await tenancy(env)
  const { owner, admin, member } = world.users
  t.equal((await env.app.inject({ method: 'GET', url: `/workspaces/${world.workspaceId}`, headers: member.session.headers })).statusCode, 200)
  const kick = await env.app.inject({ method: 'DELETE', url: `/workspaces/${world.workspaceId}/members/${member.id}`, headers: owner.session.headers })
  t.equal(kick.statusCode, 204)
  t.equal((await env.app.inject({ method: 'GET', url: `/workspaces/${world.workspaceId}`, headers: member.session.headers })).statusCode, 404, 'the same token, refused at once')
  const leave = await env.app.inject({ method: 'DELETE', url: `/workspaces/${world.workspaceId}/members/${admin.id}`, headers: admin.session.headers })
  t.equal(leave.statusCode, 204)
  const mine = await env.app.inject({ method: 'GET', url: '/workspaces', headers: admin.session.headers })
  t.same(mine.json().items.map((w: any) => w.id), [], 'gone from their list')
})

t.test('workspaces: create, list, update, slug conflicts, delete; PATCH cannot reassign fields', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env, { type: 'vendor' })
  const other = await createUser(env, { type: 'vendor' })
  const s = await login(env.app, user.email)
  const created = await env.app.inject({ method: 'POST', url: '/workspaces', headers: s.headers, payload: { name: 'Élan Studio', slug: 'elan-studio' } })
  t.equal(created.statusCode, 201)
  const ws = created.json()
  t.match(ws, { name: 'Élan Studio', slug: 'elan-studio', ownerId: user.id, role: 'owner', createdBy: user.id })
  const taken = await env.app.inject({ method: 'POST', url: '/workspaces', headers: (await login(env.app, other.email)).headers, payload: { name: 'Copy', slug: 'elan-studio' } })
  t.equal(taken.statusCode, 409)
  t.equal(taken.json().code, 'SLUG_TAKEN')
  const derived = await env.app.inject({ method: 'POST', url: '/workspaces', headers: s.headers, payload: { name: 'Élan Studio' } })
  t.match(derived.json().slug, /^elan-studio-[0-9a-f]{4}$/, 'a derived slug gets a suffix')

  const patched = await env.app.inject({ method: 'PATCH', url: `/workspaces/${ws.id}`, headers: s.headers, payload: { name: 'Elan', primaryColor: '#ff0000', settings: { currency: 'eur' }, logoUrl: 'https://cdn.example/logo.png' } })
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), { name: 'Elan', primaryColor: '#ff0000', settings: { currency: 'eur' }, logoUrl: 'https://cdn.example/logo.png', updatedBy: user.id })
  for (const field of ['ownerId', 'role', 'workspaceId', 'createdBy', 'id']) {
    const res = await env.app.inject({ method: 'PATCH', url: `/workspaces/${ws.id}`, headers: s.headers, payload: { [field]: other.id } })
    t.equal(res.statusCode, 400, `${field} cannot be set`)
    t.equal(res.json().errors[0].pointer, `/body/${field}`)
  }
  const row = await env.app.db.selectFrom('workspaces').selectAll().where('id', '=', ws.id).executeTakeFirstOrThrow()
  t.equal(row.ownerId, user.id, 'unchanged')
  t.equal(row.createdBy, user.id)

  const list = await env.app.inject({ method: 'GET', url: '/workspaces', headers: s.headers })
  t.equal(list.json().items.length, 2)
  t.equal((await env.app.inject({ method: 'DELETE', url: `/workspaces/${ws.id}`, headers: s.headers })).statusCode, 204)
  t.equal((await env.app.inject({ method: 'GET', url: `/workspaces/${ws.id}`, headers: s.headers })).statusCode, 404)
  t.ok((await env.app.db.selectFrom('workspaces').select('deletedAt').where('id', '=', ws.id).executeTakeFirstOrThrow()).deletedAt, 'soft deleted')
  const reuse = await env.app.inject({ method: 'POST', url: '/workspaces', headers: s.headers, payload: { name: 'Again', slug: 'elan-studio' } })
  t.equal(reuse.statusCode, 201, 'a deleted workspace frees its slug')
})
