import { randomBytes } from 'node:crypto'
import t from 'tap'
import { createTestEnv } from '../helpers/app.ts'
import { tenancy } from '../helpers/tenancy.ts'

// An Idempotency-Key is claimed only once the caller is authenticated and authorised for the
// route: a member who lost access cannot replay what they once got, and a refusal by a guard is
// not the key's final answer.

function productBody () {
  return {
    title: 'Guarded tee',
    description: 'A tee created with an Idempotency-Key.',
    price: { amount: 2500, currency: 'usd' },
    variants: [{ stock: 5, sku: `SKU-${randomBytes(4).toString('hex')}` }]
  }
}

t.test('a member removed from the workspace cannot replay a stored response', async (t) => {
  const env = await createTestEnv(t)
  const { workspaceId, users } = await tenancy(env)
  const member = users.member.session
  const body = productBody()
  const create = () => env.app.inject({
    method: 'POST', url: `/workspaces/${workspaceId}/products`, headers: { ...member.headers, 'idempotency-key': 'guarded-1' }, payload: body
  })

  const first = await create()
  t.equal(first.statusCode, 201)
  const replay = await create()
  t.equal(replay.headers['idempotent-replayed'], 'true', 'replayed while a member')
  t.equal(replay.body, first.body)

  await env.app.db.deleteFrom('workspaceMembers').where('workspaceId', '=', workspaceId).where('userId', '=', users.member.id).execute()
  const after = await create()
  t.equal(after.statusCode, 404, 'the guard answers first')
  t.equal(after.json().code, 'NOT_FOUND')
  t.equal(after.headers['idempotent-replayed'], undefined, 'nothing is replayed')
  t.notMatch(after.body, /Guarded tee/, 'the stored product does not leak')
})

t.test('a refusal by a guard is not stored: the same key works once access is granted', async (t) => {
  const env = await createTestEnv(t)
  const { workspaceId, users } = await tenancy(env)
  const outsider = users['non-member']
  const body = productBody()
  const create = () => env.app.inject({
    method: 'POST', url: `/workspaces/${workspaceId}/products`, headers: { ...outsider.session.headers, 'idempotency-key': 'guarded-2' }, payload: body
  })

  const refused = await create()
  t.equal(refused.statusCode, 404)
  await env.app.db.insertInto('workspaceMembers').values({ workspaceId, userId: outsider.id, role: 'member' }).execute()
  const allowed = await create()
  t.equal(allowed.statusCode, 201, 'the key was not spent on the refusal')
  t.equal(allowed.headers['idempotent-replayed'], undefined)
  t.equal(allowed.json().title, 'Guarded tee')

  // A member without the permission (403 from the guard) is not stored either.
  await env.app.db.updateTable('workspaceMembers').set({ role: 'member' }).where('workspaceId', '=', workspaceId).where('userId', '=', users.admin.id).execute()
  const patch = (who: typeof users.member) => env.app.inject({
    method: 'PATCH', url: `/workspaces/${workspaceId}`, headers: { ...who.session.headers, 'idempotency-key': 'guarded-3' }, payload: { name: 'Renamed store' }
  })
  t.equal((await patch(users.admin)).statusCode, 403, 'a demoted admin is refused')
  await env.app.db.updateTable('workspaceMembers').set({ role: 'admin' }).where('workspaceId', '=', workspaceId).where('userId', '=', users.admin.id).execute()
  const renamed = await patch(users.admin)
  t.equal(renamed.statusCode, 200, 'restored, the same key goes through')
  t.equal(renamed.json().name, 'Renamed store')
})
