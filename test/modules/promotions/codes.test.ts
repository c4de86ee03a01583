import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { createUser, login } from '../../helpers/auth.ts'
import { platformAdmin } from '../../helpers/commerce.ts'
import { ROLES, tenancy } from '../../helpers/tenancy.ts'

// Promotion codes (plan §4 WP2): platform codes are an admin's, a workspace's codes its owners'
// and admins'; codes are unique among live codes ignoring case, a race included; terms are
// checked by kind; limits cannot go below the uses made.

const count = async (env: TestEnv) => Number((await env.app.db.selectFrom('promotions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)

t.test('platform codes: admins create, list, page, filter and change them; others cannot', async (t) => {
  const env = await createTestEnv(t)
  const admin = await platformAdmin(env)
  const customer = await createUser(env)
  const customerSession = await login(env.app, customer.email)
  const post = (payload: object, headers = admin.headers) => env.app.inject({ method: 'POST', url: '/admin/promotions', headers, payload })

  const created = await post({ code: 'Welcome10', kind: 'percent', percentBps: 1000, minSubtotal: { amount: 5000, currency: 'usd' }, maxUses: 100, maxUsesPerCustomer: 1, fundedBy: 'platform' })
  t.equal(created.statusCode, 201)
  const view = created.json()
  t.equal(created.headers.location, `/admin/promotions/${view.id}`)
  t.match(view, { code: 'Welcome10', scope: 'platform', workspaceId: null, kind: 'percent', percentBps: 1000, amountOff: null, minSubtotal: { amount: 5000, currency: 'usd' }, fundedBy: 'platform', maxUses: 100, maxUsesPerCustomer: 1, usedCount: 0, isActive: true, startsAt: null, endsAt: null })
  const fixed = await post({ code: 'FIVER', kind: 'fixed', amountOff: { amount: 500, currency: 'eur' }, fundedBy: 'vendor' })
  t.match(fixed.json(), { kind: 'fixed', amountOff: { amount: 500, currency: 'eur' }, percentBps: null, fundedBy: 'vendor' })
  await post({ code: 'THIRD', kind: 'percent', percentBps: 500, fundedBy: 'platform' })

  t.equal((await post({ code: 'NOPE1', kind: 'percent', percentBps: 10, fundedBy: 'platform' }, customerSession.headers)).statusCode, 403, 'a customer is refused')
  t.equal((await env.app.inject({ method: 'POST', url: '/admin/promotions', payload: { code: 'NOPE2' } })).statusCode, 401)
  t.equal((await env.app.inject({ method: 'GET', url: '/admin/promotions', headers: customerSession.headers })).statusCode, 403)

  const page1 = (await env.app.inject({ method: 'GET', url: '/admin/promotions?limit=2', headers: admin.headers })).json()
  t.same(page1.items.map((p: any) => p.code), ['THIRD', 'FIVER'], 'newest first')
  const page2 = (await env.app.inject({ method: 'GET', url: `/admin/promotions?limit=2&cursor=${page1.nextCursor}`, headers: admin.headers })).json()
  t.same([page2.items.map((p: any) => p.code), page2.nextCursor], [['Welcome10'], null])
  const found = (await env.app.inject({ method: 'GET', url: '/admin/promotions?q=come', headers: admin.headers })).json()
  t.same(found.items.map((p: any) => p.code), ['Welcome10'], 'q matches part of the code, ignoring case')
  t.equal((await env.app.inject({ method: 'GET', url: '/admin/promotions?cursor=forged', headers: admin.headers })).statusCode, 400)

  const patch = (id: string, payload: object) => env.app.inject({ method: 'PATCH', url: `/admin/promotions/${id}`, headers: admin.headers, payload })
  const changed = await patch(view.id, { isActive: false, endsAt: '2030-01-01T00:00:00.000Z', maxUsesPerCustomer: null })
  t.equal(changed.statusCode, 200)
  t.match(changed.json(), { isActive: false, endsAt: '2030-01-01T00:00:00.000Z', maxUsesPerCustomer: null, maxUses: 100 })
  const inactive = (await env.app.inject({ method: 'GET', url: '/admin/promotions?active=false', headers: admin.headers })).json()
  t.same(inactive.items.map((p: any) => p.code), ['Welcome10'])
  t.equal((await patch(view.id, {})).statusCode, 400, 'an empty change is refused')
  t.equal((await patch('01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e90', { isActive: true })).statusCode, 404)
})

t.test('maxUses below the uses made is 409 BELOW_USAGE; at them it is fine', async (t) => {
  const env = await createTestEnv(t)
  const admin = await platformAdmin(env)
  const created = (await env.app.inject({ method: 'POST', url: '/admin/promotions', headers: admin.headers, payload: { code: 'USED', kind: 'percent', percentBps: 100, fundedBy: 'platform' } })).json()
  await env.app.db.updateTable('promotions').set({ usedCount: 5 }).where('id', '=', created.id).execute()
  const patch = (payload: object) => env.app.inject({ method: 'PATCH', url: `/admin/promotions/${created.id}`, headers: admin.headers, payload })
  const below = await patch({ maxUses: 4 })
  t.same([below.statusCode, below.json().code, below.json().usedCount, below.json().errors[0].pointer], [409, 'BELOW_USAGE', 5, '/body/maxUses'])
  t.equal((await env.app.db.selectFrom('promotions').select('maxUses').executeTakeFirstOrThrow()).maxUses, null, 'nothing changed')
  t.equal((await patch({ maxUses: 5 })).json().maxUses, 5)
  // The database refuses overuse whatever the code does.
  await t.rejects(env.app.db.updateTable('promotions').set({ usedCount: 6 }).where('id', '=', created.id).execute(), /promotions_within_max_uses/)
})

t.test('workspace codes: owners and admins manage their own; members 403; other tenants 404', async (t) => {
  const env = await createTestEnv(t)
  const ten = await tenancy(env)
  const body = (code: string) => ({ code, kind: 'fixed', amountOff: { amount: 300, currency: 'usd' } })
  const as = (role: keyof typeof ten.users) => ten.users[role].session.headers
  const results: Record<string, number> = {}
  for (const role of ROLES) {
    const res = await env.app.inject({ method: 'POST', url: `/workspaces/${ten.workspaceId}/promotions`, headers: as(role), payload: body(`BY-${role}`) })
    results[role] = res.statusCode
  }
  t.same(results, { owner: 201, admin: 201, member: 403, 'non-member': 404, 'other-owner': 404 })
  const listed = await env.app.inject({ method: 'GET', url: `/workspaces/${ten.workspaceId}/promotions`, headers: as('admin') })
  t.same(listed.json().items.map((p: any) => [p.code, p.scope, p.workspaceId, p.fundedBy]), [
    ['BY-admin', 'workspace', ten.workspaceId, 'vendor'], ['BY-owner', 'workspace', ten.workspaceId, 'vendor']
  ], 'workspace codes are always vendor-funded')
  t.equal((await env.app.inject({ method: 'GET', url: `/workspaces/${ten.workspaceId}/promotions`, headers: as('member') })).statusCode, 403)
  t.equal((await env.app.inject({ method: 'GET', url: `/workspaces/${ten.workspaceId}/promotions`, headers: as('other-owner') })).statusCode, 404)
  const mine = listed.json().items[0]
  const funded = await env.app.inject({ method: 'POST', url: `/workspaces/${ten.workspaceId}/promotions`, headers: as('owner'), payload: { ...body('PLATFORMPAYS'), fundedBy: 'platform' } })
  t.same([funded.statusCode, funded.json().errors[0].pointer], [400, '/body/fundedBy'], 'a workspace cannot make the platform fund its code')

  // Another tenant's code through their own workspace, or through the admin routes: 404.
  const rivalCode = (await env.app.inject({ method: 'POST', url: `/workspaces/${ten.otherWorkspaceId}/promotions`, headers: as('other-owner'), payload: body('RIVAL') })).json()
  t.equal((await env.app.inject({ method: 'PATCH', url: `/workspaces/${ten.workspaceId}/promotions/${rivalCode.id}`, headers: as('owner'), payload: { isActive: false } })).statusCode, 404)
  t.equal((await env.app.inject({ method: 'DELETE', url: `/workspaces/${ten.workspaceId}/promotions/${rivalCode.id}`, headers: as('owner') })).statusCode, 404)
  t.equal((await env.app.inject({ method: 'PATCH', url: `/workspaces/${ten.otherWorkspaceId}/promotions/${rivalCode.id}`, headers: as('owner'), payload: { isActive: false } })).statusCode, 404)
  const admin = await platformAdmin(env)
  t.equal((await env.app.inject({ method: 'PATCH', url: `/admin/promotions/${rivalCode.id}`, headers: admin.headers, payload: { isActive: false } })).statusCode, 404, 'the admin routes are for platform codes')
  t.equal((await env.app.db.selectFrom('promotions').select('isActive').where('id', '=', rivalCode.id).executeTakeFirstOrThrow()).isActive, true, 'the rival\'s code is untouched')

  const patched = await env.app.inject({ method: 'PATCH', url: `/workspaces/${ten.workspaceId}/promotions/${mine.id}`, headers: as('owner'), payload: { maxUses: 10 } })
  t.same([patched.statusCode, patched.json().maxUses], [200, 10])
  t.equal((await env.app.inject({ method: 'DELETE', url: `/workspaces/${ten.workspaceId}/promotions/${mine.id}`, headers: as('member') })).statusCode, 403)
  t.equal((await env.app.inject({ method: 'DELETE', url: `/workspaces/${ten.workspaceId}/promotions/${mine.id}`, headers: as('admin') })).statusCode, 204)
  t.equal((await env.app.inject({ method: 'DELETE', url: `/workspaces/${ten.workspaceId}/promotions/${mine.id}`, headers: as('admin') })).statusCode, 404, 'deleted once')
  t.equal((await env.app.inject({ method: 'GET', url: `/workspaces/${ten.workspaceId}/promotions`, headers: as('owner') })).json().items.length, 1, 'a deleted code is not listed')
  const reused = await env.app.inject({ method: 'POST', url: `/workspaces/${ten.workspaceId}/promotions`, headers: as('owner'), payload: body(mine.code.toLowerCase()) })
  t.equal(reused.statusCode, 201, 'a deleted code\'s name is free again')
})

t.test('codes are unique among live codes ignoring case, across scopes and under a concurrent double create', async (t) => {
  const env = await createTestEnv(t)
  const ten = await tenancy(env)
  const admin = await platformAdmin(env)
  const platform = (code: string) => env.app.inject({ method: 'POST', url: '/admin/promotions', headers: admin.headers, payload: { code, kind: 'percent', percentBps: 100, fundedBy: 'platform' } })
  const workspace = (code: string) => env.app.inject({ method: 'POST', url: `/workspaces/${ten.workspaceId}/promotions`, headers: ten.users.owner.session.headers, payload: { code, kind: 'percent', percentBps: 100 } })
  t.equal((await platform('Summer')).statusCode, 201)
  for (const taken of [await platform('SUMMER'), await workspace('summer')]) {
    t.same([taken.statusCode, taken.json().code, taken.json().errors[0].pointer], [409, 'CODE_TAKEN', '/body/code'])
  }
  const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => i % 2 === 0 ? platform(i % 4 === 0 ? 'race-1' : 'RACE-1') : workspace('Race-1')))
  t.equal(burst.filter((r) => r.statusCode === 201).length, 1, 'one made')
  t.ok(burst.filter((r) => r.statusCode !== 201).every((r) => r.statusCode === 409 && r.json().code === 'CODE_TAKEN'), 'the others 409 CODE_TAKEN, no 500')
  t.equal(Number((await env.app.db.selectFrom('promotions').select((eb) => eb.fn.countAll().as('n')).where('codeKey', '=', 'RACE-1').executeTakeFirstOrThrow()).n), 1)
})

t.test('terms are checked by kind: 400 naming the field, nothing written', async (t) => {
  const env = await createTestEnv(t)
  const admin = await platformAdmin(env)
  const usd = (amount: number) => ({ amount, currency: 'usd' })
  const base = { code: 'TERMS', fundedBy: 'platform' }
  const cases: Array<[string, object, string]> = [
    ['percent without percentBps', { kind: 'percent' }, '/body/percentBps'],
    ['percent with amountOff', { kind: 'percent', percentBps: 100, amountOff: usd(100) }, '/body/amountOff'],
    ['fixed without amountOff', { kind: 'fixed' }, '/body/amountOff'],
    ['fixed with percentBps', { kind: 'fixed', amountOff: usd(100), percentBps: 100 }, '/body/percentBps'],
    ['fixed of nothing', { kind: 'fixed', amountOff: usd(0) }, '/body/amountOff/amount'],
    ['a minimum in another currency', { kind: 'fixed', amountOff: usd(100), minSubtotal: { amount: 1000, currency: 'eur' } }, '/body/minSubtotal/currency'],
    ['an end before the start', { kind: 'percent', percentBps: 100, startsAt: '2027-02-01T00:00:00Z', endsAt: '2027-01-01T00:00:00Z' }, '/body/endsAt'],
    ['an unknown kind', { kind: 'bogo', percentBps: 100 }, '/body/kind'],
    ['more than 100 %', { kind: 'percent', percentBps: 10001 }, '/body/percentBps'],
    ['no percent', { kind: 'percent', percentBps: 0 }, '/body/percentBps'],
    ['an unknown funder', { kind: 'percent', percentBps: 100, fundedBy: 'nobody' }, '/body/fundedBy'],
    ['zero uses', { kind: 'percent', percentBps: 100, maxUses: 0 }, '/body/maxUses'],
    ['a date that is not one', { kind: 'percent', percentBps: 100, endsAt: 'tomorrow' }, '/body/endsAt'],
    ['an upper-case currency', { kind: 'fixed', amountOff: { amount: 100, currency: 'USD' } }, '/body/amountOff/currency'],
    ['an amount off no cart can charge', { kind: 'fixed', amountOff: usd(100_000_000_000) }, '/body/amountOff/amount'],
    ['a minimum no cart can reach', { kind: 'percent', percentBps: 100, minSubtotal: usd(2_147_483_648) }, '/body/minSubtotal/amount'],
    ['an unknown field', { kind: 'percent', percentBps: 100, usedCount: 0 }, '/body/usedCount'],
    ['a code with a space', { kind: 'percent', percentBps: 100, code: 'TWO WORDS' }, '/body/code'],
    ['a code as an object', { kind: 'percent', percentBps: 100, code: { $gt: '' } }, '/body/code']
  ]
  for (const [label, fields, pointer] of cases) {
    const res = await env.app.inject({ method: 'POST', url: '/admin/promotions', headers: admin.headers, payload: { ...base, ...fields } })
    t.equal(res.statusCode, 400, label)
    t.ok(res.json().errors?.some((e: any) => e.pointer === pointer), `${label}: names ${pointer} (${JSON.stringify(res.json().errors)})`)
  }
  t.equal(await count(env), 0, 'nothing written')
  const fine = await env.app.inject({ method: 'POST', url: '/admin/promotions', headers: admin.headers, payload: { ...base, kind: 'percent', percentBps: 10000, minSubtotal: usd(1) } })
  t.same([fine.statusCode, fine.json().minSubtotal], [201, usd(1)], 'a percent code with a minimum takes its currency')
})
