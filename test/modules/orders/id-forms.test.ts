import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { addToCart, approvedStore, checkout, createProduct, platformAdmin, shopper, type Shopper } from '../../helpers/commerce.ts'
import { createShippingRate } from '../../helpers/rates.ts'

// Forms of ids and times the schema formats allow but the code or the database read otherwise
// (review 1 findings 4 and 5): an upper-case UUID is the same id (the database writes them lower
// case), a "urn:uuid:" one and a leap second are 400 naming the field, never a 500 or a miss.

const cartOf = async (env: TestEnv, who: Shopper) => (await env.app.inject({ method: 'GET', url: '/cart', headers: who.session.headers })).json()
const pointers = (res: { json: () => any }) => (res.json().errors ?? []).map((e: any) => e.pointer)

t.test('an upper-case line id is that line; the same line in both cases is bought once', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const p = await createProduct(env, store, { price: 2000, variants: [{ stock: 10 }] })
  const q = await createProduct(env, store, { price: 3000, variants: [{ stock: 10 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, p.variants[0].id, 2)
  await addToCart(env, buyer, q.variants[0].id)
  const line = (await cartOf(env, buyer)).items.find((i: any) => i.variantId === p.variants[0].id).id as string
  const res = await checkout(env, buyer, undefined, { shippingAddressId: buyer.addressId, lines: [line.toUpperCase(), line] })
  t.equal(res.statusCode, 201, res.body)
  t.equal(res.json().total.amount, 4000, 'the line once, with its quantity')
  t.same((await cartOf(env, buyer)).items.map((i: any) => i.variantId), [q.variants[0].id], 'the other line stays')
})

t.test('an upper-case shipping rate id chooses that rate', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  await createShippingRate(env, store, { name: 'Cheap', amount: 300 })
  const dear = await createShippingRate(env, store, { name: 'Courier', amount: 900 })
  const p = await createProduct(env, store, { price: 2000, variants: [{ stock: 10 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, p.variants[0].id)
  const res = await checkout(env, buyer, undefined, { shippingAddressId: buyer.addressId, shippingRateIds: [dear.id.toUpperCase()] })
  t.equal(res.statusCode, 201, res.body)
  t.equal(res.json().totals.shipping.amount, 900, 'the chosen (dearer) rate, not the cheapest')
})

t.test('"urn:uuid:" ids are 400 naming the field, and change nothing', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const p = await createProduct(env, store, { price: 2000, variants: [{ stock: 10 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, p.variants[0].id)
  const line = (await cartOf(env, buyer)).items[0].id as string
  const cases: Array<[string, () => Promise<any>, string]> = [
    ['a line', () => checkout(env, buyer, undefined, { shippingAddressId: buyer.addressId, lines: [`urn:uuid:${line}`] }), '/body/lines/0'],
    ['a shipping rate', () => checkout(env, buyer, undefined, { shippingAddressId: buyer.addressId, shippingRateIds: [`urn:uuid:${line}`] }), '/body/shippingRateIds/0'],
    ['an address', () => checkout(env, buyer, undefined, { shippingAddressId: `urn:uuid:${buyer.addressId}` }), '/body/shippingAddressId'],
    ['the shipping options\' address', () => env.app.inject({ method: 'GET', url: `/cart/shipping-options?shippingAddressId=urn:uuid:${buyer.addressId}`, headers: buyer.session.headers }), '/querystring/shippingAddressId'],
    ['the cart\'s address', () => env.app.inject({ method: 'GET', url: `/cart?shippingAddressId=urn:uuid:${buyer.addressId}`, headers: buyer.session.headers }), '/querystring/shippingAddressId']
  ]
  for (const [name, call, pointer] of cases) {
    const res = await call()
    t.equal(res.statusCode, 400, `${name}: ${res.body}`)
    t.ok(pointers(res).some((p: string) => p.startsWith(pointer)), `${name} names ${pointer}`)
  }
  t.equal((await cartOf(env, buyer)).items.length, 1, 'the cart is as it was')
  t.equal((await env.app.db.selectFrom('orders').select('id').where('userId', '=', buyer.id).execute()).length, 0, 'no order')
})

t.test('a leap second (23:59:60) is 400 naming the field on promotion create and change', async (t) => {
  const env = await createTestEnv(t)
  const admin = (await platformAdmin(env)).headers
  const created = await env.app.inject({ method: 'POST', url: '/admin/promotions', headers: admin, payload: { code: 'LEAPSEC', kind: 'percent', percentBps: 100, fundedBy: 'platform', endsAt: '2027-06-30T23:59:60Z' } })
  t.equal(created.statusCode, 400, created.body)
  t.ok(pointers(created).includes('/body/endsAt'), 'names /body/endsAt')
  t.equal((await env.app.db.selectFrom('promotions').select('id').where('codeKey', '=', 'LEAPSEC').execute()).length, 0, 'nothing written')
  const ok = await env.app.inject({ method: 'POST', url: '/admin/promotions', headers: admin, payload: { code: 'LEAPSEC', kind: 'percent', percentBps: 100, fundedBy: 'platform', endsAt: '2027-06-30T23:59:59+02:00' } })
  t.equal(ok.statusCode, 201, ok.body)
  const patched = await env.app.inject({ method: 'PATCH', url: `/admin/promotions/${ok.json().id}`, headers: admin, payload: { startsAt: '2027-06-30T23:59:60Z' } })
  t.equal(patched.statusCode, 400, patched.body)
})

t.test('a leap second, or year 0000, is 400 on every date-time a request carries (the sessions statistics, the ledger\'s commission report)', async (t) => {
  const env = await createTestEnv(t)
  const admin = (await platformAdmin(env)).headers
  for (const url of ['/admin/sessions/stats?from=2027-06-30T23:59:60Z', '/admin/commission?to=2027-06-30T23:59:60Z', '/admin/commission?from=0000-01-01T00:00:00Z']) {
    const res = await env.app.inject({ method: 'GET', url, headers: admin })
    t.equal(res.statusCode, 400, `${url}: ${res.body}`)
    t.ok(pointers(res).some((p: string) => p.startsWith('/querystring/')), `${url} names its parameter`)
  }
})
