import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { tenancy, type Tenancy } from '../../helpers/tenancy.ts'

// A workspace's shipping rates (issue 14, plan §4 WP3): CRUD through the routes, the tenancy
// rules of every /workspaces/:wid route (non-member 404, member without the permission 403),
// and validation that names the field and changes nothing.

const flat = { name: 'Standard', kind: 'flat', amount: { amount: 500, currency: 'usd' }, countries: ['US'] }
const freeOver = { name: 'Free over 50', kind: 'free_over', amount: { amount: 700, currency: 'USD' }, freeOver: { amount: 5000, currency: 'usd' } }

function api (env: TestEnv, ten: Tenancy) {
  const as = (role: keyof Tenancy['users']) => ten.users[role].session.headers
  return {
    create: (body: object, role: keyof Tenancy['users'] = 'owner', wid = ten.workspaceId) => env.app.inject({ method: 'POST', url: `/workspaces/${wid}/shipping-rates`, headers: as(role), payload: body }),
    list: (role: keyof Tenancy['users'] = 'owner', wid = ten.workspaceId) => env.app.inject({ method: 'GET', url: `/workspaces/${wid}/shipping-rates`, headers: as(role) }),
    patch: (id: string, body: object, role: keyof Tenancy['users'] = 'owner', wid = ten.workspaceId) => env.app.inject({ method: 'PATCH', url: `/workspaces/${wid}/shipping-rates/${id}`, headers: as(role), payload: body }),
    remove: (id: string, role: keyof Tenancy['users'] = 'owner', wid = ten.workspaceId) => env.app.inject({ method: 'DELETE', url: `/workspaces/${wid}/shipping-rates/${id}`, headers: as(role) })
  }
}

const rowsOf = (env: TestEnv) => env.app.db.selectFrom('shippingRates').selectAll().orderBy('id').execute()

t.test('create, list, change and delete rates', async (t) => {
  const env = await createTestEnv(t)
  const ten = await tenancy(env)
  const a = api(env, ten)
  const created = await a.create(flat)
  t.equal(created.statusCode, 201, created.body)
  const rate = created.json()
  t.match(rate, { workspaceId: ten.workspaceId, name: 'Standard', kind: 'flat', amount: { amount: 500, currency: 'usd' }, freeOver: null, countries: ['US'], isActive: true })
  t.equal(created.headers.location, `/workspaces/${ten.workspaceId}/shipping-rates/${rate.id}`)
  const second = await a.create({ ...freeOver, countries: ['gb', 'fr'] }, 'admin')
  t.equal(second.statusCode, 201, second.body)
  t.same(second.json().amount, { amount: 700, currency: 'usd' }, 'currency stored lower case')
  t.same(second.json().freeOver, { amount: 5000, currency: 'usd' })
  t.same(second.json().countries, ['GB', 'FR'], 'countries stored upper case')

  const listed = await a.list('member')
  t.equal(listed.statusCode, 200)
  t.same(listed.json().items.map((r: { id: string }) => r.id), [rate.id, second.json().id], 'a member reads them, oldest first')

  const patched = await a.patch(second.json().id, { kind: 'flat', amount: { amount: 900, currency: 'usd' } })
  t.equal(patched.statusCode, 200, patched.body)
  t.match(patched.json(), { kind: 'flat', freeOver: null, amount: { amount: 900 }, countries: ['GB', 'FR'] }, 'turning a rate flat drops its threshold; the rest is kept')
  const off = await a.patch(rate.id, { isActive: false, countries: [] })
  t.match(off.json(), { isActive: false, countries: [] })

  t.equal((await a.remove(rate.id)).statusCode, 204)
  t.equal((await a.remove(rate.id)).statusCode, 404, 'deleted once')
  t.equal((await a.patch(rate.id, { name: 'x' })).statusCode, 404, 'a deleted rate cannot be changed')
  t.same((await a.list()).json().items.map((r: { id: string }) => r.id), [second.json().id])
  const stored = await rowsOf(env)
  t.ok(stored.find((r) => r.id === rate.id)?.deletedAt, 'soft delete: the row stays for the record')
})

t.test('tenancy: non-members and other workspaces get 404, a member without workspace:update 403, nothing changes', async (t) => {
  const env = await createTestEnv(t)
  const ten = await tenancy(env)
  const a = api(env, ten)
  const rate = (await a.create(flat)).json()

  for (const role of ['non-member', 'other-owner'] as const) {
    t.equal((await a.list(role)).statusCode, 404, `${role}: list 404`)
    t.equal((await a.create(flat, role)).statusCode, 404, `${role}: create 404`)
    t.equal((await a.patch(rate.id, { name: 'Hijacked' }, role)).statusCode, 404, `${role}: patch 404`)
    t.equal((await a.remove(rate.id, role)).statusCode, 404, `${role}: delete 404`)
  }
  const memberCreate = await a.create(flat, 'member')
  t.equal(memberCreate.statusCode, 403, 'member: create 403')
  t.equal(memberCreate.json().code, 'FORBIDDEN')
  t.equal((await a.patch(rate.id, { name: 'x' }, 'member')).statusCode, 403)
  t.equal((await a.remove(rate.id, 'member')).statusCode, 403)
  // The other workspace's owner, in their own workspace, naming this workspace's rate.
  t.equal((await a.patch(rate.id, { name: 'Hijacked' }, 'other-owner', ten.otherWorkspaceId)).statusCode, 404, 'a rate of another workspace is 404 in yours')
  t.equal((await a.remove(rate.id, 'other-owner', ten.otherWorkspaceId)).statusCode, 404)
  const anonymous = await env.app.inject({ method: 'GET', url: `/workspaces/${ten.workspaceId}/shipping-rates` })
  t.equal(anonymous.statusCode, 401)

  const rows = await rowsOf(env)
  t.equal(rows.length, 1)
  t.match(rows[0], { name: 'Standard', deletedAt: null, workspaceId: ten.workspaceId }, 'nothing changed')
})

t.test('bad input is 400 naming the field, and nothing is stored', async (t) => {
  const env = await createTestEnv(t)
  const ten = await tenancy(env)
  const a = api(env, ten)
  const refused = async (body: object, pointer: string, label: string) => {
    const res = await a.create(body)
    t.equal(res.statusCode, 400, `${label}: 400 (${res.body.slice(0, 200)})`)
    t.equal(res.json().code, 'VALIDATION_FAILED', label)
    t.ok(res.json().errors?.some((e: { pointer: string }) => e.pointer === pointer), `${label}: names ${pointer} (${JSON.stringify(res.json().errors)})`)
  }
  await refused({ ...flat, countries: ['ZZ'] }, '/body/countries/0', 'an unassigned country')
  await refused({ ...flat, countries: ['USA'] }, '/body/countries/0', 'three letters')
  await refused({ ...flat, amount: { amount: -1, currency: 'usd' } }, '/body/amount/amount', 'a negative amount')
  await refused({ ...flat, amount: { amount: 100_000_000, currency: 'usd' } }, '/body/amount/amount', 'above what a payment can charge')
  await refused({ ...flat, amount: { amount: 10, currency: 'us' } }, '/body/amount/currency', 'a bad currency')
  await refused({ ...flat, freeOver: { amount: 5000, currency: 'usd' } }, '/body/freeOver', 'freeOver with kind flat')
  await refused({ ...freeOver, freeOver: undefined }, '/body/freeOver', 'free_over without freeOver')
  await refused({ ...freeOver, freeOver: { amount: 5000, currency: 'eur' } }, '/body/freeOver/currency', 'a threshold in another currency')
  await refused({ ...flat, countries: Array.from({ length: 251 }, () => 'US') }, '/body/countries', 'too many countries')
  await refused({ ...flat, countries: ['US', 'FR', 'US'] }, '/body/countries', 'a country twice')
  await refused({ ...flat, countries: ['us', 'US'] }, '/body/countries/1', 'a country twice, in two cases')
  await refused({ ...flat, kind: 'weight' }, '/body/kind', 'an unknown kind')
  await refused({ ...flat, name: '' }, '/body/name', 'an empty name')
  await refused({ ...flat, name: 'a\nb' }, '/body/name', 'a name on two lines')
  await refused({ ...flat, extra: 1 }, '/body/extra', 'an unknown field')
  t.equal((await rowsOf(env)).length, 0, 'nothing stored')

  const rate = (await a.create(freeOver)).json()
  const badPatch = await a.patch(rate.id, { freeOver: { amount: 100, currency: 'eur' } })
  t.equal(badPatch.statusCode, 400)
  t.equal(badPatch.json().errors[0].pointer, '/body/freeOver/currency')
  const flatWithThreshold = await a.patch(rate.id, { kind: 'flat', freeOver: { amount: 100, currency: 'usd' } })
  t.equal(flatWithThreshold.json().errors[0].pointer, '/body/freeOver')
  t.equal((await a.patch(rate.id, {})).statusCode, 400, 'an empty patch')
  const badId = await env.app.inject({ method: 'PATCH', url: `/workspaces/${ten.workspaceId}/shipping-rates/nope`, headers: ten.users.owner.session.headers, payload: { name: 'x' } })
  t.equal(badId.statusCode, 400)
  t.equal(badId.json().errors[0].pointer, '/params/id')
  const [row] = await rowsOf(env)
  t.match(row, { kind: 'free_over', freeOverAmount: 5000, currency: 'usd', amount: 700 }, 'the refused changes changed nothing')
})

t.test('a workspace keeps at most 50 rates, also under a burst of concurrent creates', async (t) => {
  const env = await createTestEnv(t)
  const ten = await tenancy(env)
  const a = api(env, ten)
  for (let i = 0; i < 45; i++) t.equal((await a.create({ ...flat, name: `Rate ${i}` })).statusCode, 201)
  const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => a.create({ ...flat, name: `Burst ${i}` })))
  const codes = burst.map((r) => r.statusCode).sort()
  t.same(codes, [...Array(5).fill(201), ...Array(5).fill(409)], '5 created, 5 refused')
  t.ok(burst.filter((r) => r.statusCode === 409).every((r) => r.json().code === 'TOO_MANY_RATES'))
  const live = await env.app.db.selectFrom('shippingRates').select('id').where('workspaceId', '=', ten.workspaceId).where('deletedAt', 'is', null).execute()
  t.equal(live.length, 50, 'exactly 50 in the database')
  t.equal((await a.remove(live[0]!.id)).statusCode, 204)
  t.equal((await a.create(flat)).statusCode, 201, 'deleting one frees a place')
})

t.test('a change and a delete of one rate at once: the delete stands, the change is either made first or 404', async (t) => {
  const env = await createTestEnv(t)
  const ten = await tenancy(env)
  const a = api(env, ten)
  for (let round = 0; round < 5; round++) {
    const rate = (await a.create({ ...flat, name: `Round ${round}` })).json()
    const [changed, removed] = await Promise.all([a.patch(rate.id, { name: 'Changed' }), a.remove(rate.id, 'admin')])
    t.equal(removed.statusCode, 204, `round ${round}: deleted`)
    t.ok([200, 404].includes(changed.statusCode), `round ${round}: the change ${changed.statusCode}`)
    const row = await env.app.db.selectFrom('shippingRates').select(['name', 'deletedAt']).where('id', '=', rate.id).executeTakeFirstOrThrow()
    t.ok(row.deletedAt, 'the rate is deleted')
    t.equal(row.name, changed.statusCode === 200 ? 'Changed' : `Round ${round}`, 'the name is the change\'s only if it answered 200')
  }
})
