import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { createUser, login } from '../../helpers/auth.ts'

// Tax rates (issue 14, plan §4 WP3): platform admins only; one live rate per country and
// region (case-insensitive, decided by the database, so a race of two creates gives one 201
// and one 409); validation naming the field. The region fallback itself is priced end to end in
// test/modules/pricing/totals-e2e.test.ts.

async function admin (env: TestEnv) {
  const user = await createUser(env, { type: 'admin' })
  return (await login(env.app, user.email)).headers
}

function api (env: TestEnv, headers: Record<string, string>) {
  return {
    create: (body: object) => env.app.inject({ method: 'POST', url: '/admin/tax-rates', headers, payload: body }),
    list: (query = '') => env.app.inject({ method: 'GET', url: `/admin/tax-rates${query}`, headers }),
    patch: (id: string, body: object) => env.app.inject({ method: 'PATCH', url: `/admin/tax-rates/${id}`, headers, payload: body }),
    remove: (id: string) => env.app.inject({ method: 'DELETE', url: `/admin/tax-rates/${id}`, headers })
  }
}

const live = (env: TestEnv) => env.app.db.selectFrom('taxRates').selectAll().where('deletedAt', 'is', null).orderBy('id').execute()

t.test('admins create, list, change and delete tax rates', async (t) => {
  const env = await createTestEnv(t)
  const a = api(env, await admin(env))
  const ca = await a.create({ country: 'us', region: 'ca', name: 'California', rateBps: 725 })
  t.equal(ca.statusCode, 201, ca.body)
  t.match(ca.json(), { country: 'US', region: 'CA', name: 'California', rateBps: 725, inclusive: false })
  t.equal(ca.headers.location, `/admin/tax-rates/${ca.json().id}`)
  const us = await a.create({ country: 'US', name: 'US default', rateBps: 500 })
  t.match(us.json(), { region: null })
  const gb = await a.create({ country: 'GB', name: 'VAT', rateBps: 2000, inclusive: true })
  t.match(gb.json(), { inclusive: true })

  const page1 = await a.list('?limit=2')
  t.equal(page1.json().items.length, 2)
  const page2 = await a.list(`?limit=2&cursor=${page1.json().nextCursor}`)
  t.same([...page1.json().items, ...page2.json().items].map((r: { id: string }) => r.id), [ca.json().id, us.json().id, gb.json().id], 'keyset pages, oldest first')
  t.equal(page2.json().nextCursor, null)
  t.same((await a.list('?country=gb')).json().items.map((r: { id: string }) => r.id), [gb.json().id], 'by country')

  const changed = await a.patch(ca.json().id, { rateBps: 750, name: 'California 2027' })
  t.match(changed.json(), { rateBps: 750, name: 'California 2027', region: 'CA' })
  t.equal((await a.remove(us.json().id)).statusCode, 204)
  t.equal((await a.remove(us.json().id)).statusCode, 404)
  t.equal((await a.patch(us.json().id, { rateBps: 1 })).statusCode, 404)
  const again = await a.create({ country: 'US', name: 'US again', rateBps: 600 })
  t.equal(again.statusCode, 201, 'a deleted rate\'s place may be taken again')
})

t.test('only platform admins: anonymous 401, vendors and customers 403, nothing changes', async (t) => {
  const env = await createTestEnv(t)
  const a = api(env, await admin(env))
  const rate = (await a.create({ country: 'US', name: 'US', rateBps: 500 })).json()
  for (const type of ['customer', 'vendor'] as const) {
    const user = await createUser(env, { type })
    const b = api(env, (await login(env.app, user.email)).headers)
    t.equal((await b.list()).statusCode, 403, `${type}: list`)
    t.equal((await b.create({ country: 'FR', name: 'TVA', rateBps: 2000 })).statusCode, 403, `${type}: create`)
    t.equal((await b.patch(rate.id, { rateBps: 0 })).statusCode, 403, `${type}: patch`)
    t.equal((await b.remove(rate.id)).statusCode, 403, `${type}: delete`)
  }
  t.equal((await env.app.inject({ method: 'GET', url: '/admin/tax-rates' })).statusCode, 401)
  t.match(await live(env), [{ country: 'US', rateBps: 500 }])
  t.equal((await live(env)).length, 1)
})

t.test('one live rate per country and region: 409 TAX_RATE_EXISTS, also for two concurrent creates', async (t) => {
  const env = await createTestEnv(t)
  const a = api(env, await admin(env))
  t.equal((await a.create({ country: 'US', region: 'CA', name: 'CA', rateBps: 725 })).statusCode, 201)
  const twice = await a.create({ country: 'us', region: 'ca', name: 'CA again', rateBps: 800 })
  t.equal(twice.statusCode, 409)
  t.equal(twice.json().code, 'TAX_RATE_EXISTS')
  const country = (await a.create({ country: 'US', name: 'US', rateBps: 500 })).json()
  const countryTwice = await a.create({ country: 'US', region: null, name: 'US again', rateBps: 400 })
  t.equal(countryTwice.json().code, 'TAX_RATE_EXISTS', 'the country without a region is one place too')
  const moved = await a.patch(country.id, { region: 'CA' })
  t.equal(moved.statusCode, 409, 'moving a rate onto a taken place')
  t.equal(moved.json().code, 'TAX_RATE_EXISTS')
  t.equal(moved.json().errors[0].pointer, '/body/region', 'names the field that collides')
  t.equal(countryTwice.json().errors[0].pointer, '/body/country')

  for (let round = 0; round < 5; round++) {
    const place = { country: 'DE', region: `R${round}`, name: 'MwSt', rateBps: 1900 }
    const [x, y] = await Promise.all([a.create(place), a.create({ ...place, rateBps: 700 })])
    t.same([x.statusCode, y.statusCode].sort(), [201, 409], `round ${round}: one 201, one 409`)
  }
  // Two rates moved onto one free place at once: one move wins.
  const x = (await a.create({ country: 'AT', region: 'X1', name: 'x', rateBps: 100 })).json()
  const y = (await a.create({ country: 'AT', region: 'X2', name: 'y', rateBps: 200 })).json()
  const moves = await Promise.all([a.patch(x.id, { region: 'W' }), a.patch(y.id, { region: 'W' })])
  t.same(moves.map((m) => m.statusCode).sort(), [200, 409], 'two concurrent moves: one 200, one 409')
  const rows = await live(env)
  t.equal(rows.filter((r) => r.country === 'AT' && r.region === 'W').length, 1, 'one rate at the place')
  t.equal(rows.filter((r) => r.country === 'DE').length, 5, 'one live rate per place in the database')
  t.match(rows.find((r) => r.country === 'US' && r.region === null), { rateBps: 500 }, 'the refused move changed nothing')
})

t.test('bad input is 400 naming the field, and nothing is stored', async (t) => {
  const env = await createTestEnv(t)
  const a = api(env, await admin(env))
  const refused = async (body: object, pointer: string, label: string) => {
    const res = await a.create(body)
    t.equal(res.statusCode, 400, `${label}: 400`)
    t.equal(res.json().code, 'VALIDATION_FAILED')
    t.ok(res.json().errors?.some((e: { pointer: string }) => e.pointer === pointer), `${label}: names ${pointer} (${JSON.stringify(res.json().errors)})`)
  }
  const ok = { country: 'US', name: 'US', rateBps: 500 }
  await refused({ ...ok, country: 'ZZ' }, '/body/country', 'an unassigned country')
  await refused({ ...ok, country: 'USA' }, '/body/country', 'three letters')
  await refused({ ...ok, rateBps: -1 }, '/body/rateBps', 'a negative rate')
  await refused({ ...ok, rateBps: 10_001 }, '/body/rateBps', 'above 100 %')
  await refused({ ...ok, rateBps: 7.25 }, '/body/rateBps', 'not whole basis points')
  await refused({ ...ok, region: 'Greater London' }, '/body/region', 'a region with a space')
  await refused({ ...ok, region: 'ABCDEFGHIJK' }, '/body/region', 'a region too long')
  await refused({ ...ok, name: '' }, '/body/name', 'no name')
  await refused({ ...ok, inclusive: 'yes' }, '/body/inclusive', 'not a boolean')
  t.equal((await live(env)).length, 0)
})
