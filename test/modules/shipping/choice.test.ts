import t, { type Test } from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { createUser, login } from '../../helpers/auth.ts'
import { addToCart, approvedStore, checkout, createProduct, shopper, type Shopper } from '../../helpers/commerce.ts'
import { paymentEnv } from '../../helpers/payments.ts'
import { adminHeaders, createShippingRate, createTaxRate } from '../../helpers/rates.ts'

// Which shipping an order pays (issue 14, plan §3.2), end to end through POST /orders: a store
// without rates ships free; otherwise the customer's chosen rate (shippingRateIds), else the
// cheapest one that applies (active, the order's currency, the destination's country or every
// country). A store with rates but none for the destination is 409 NOT_SHIPPABLE; a chosen rate
// that does not apply (another store's, deleted, inactive, another country) is 409
// SHIPPING_RATE_UNAVAILABLE. Both refuse before anything is taken: stock, cart and orders stay.

const FR = { street: '1 rue de Rivoli', city: 'Paris', zipCode: '75001', country: 'FR' }

async function shop (t: Test) {
  const env = await createTestEnv(t)
  const a = await approvedStore(env)
  const b = await approvedStore(env)
  const shirt = await createProduct(env, a, { price: 2000, variants: [{ stock: 20 }] })
  const mug = await createProduct(env, b, { price: 1500, variants: [{ stock: 20 }] })
  const buyer = await shopper(env)
  return { env, a, b, shirt, mug, buyer, variants: [shirt.variants[0].id, mug.variants[0].id] }
}

/** What a refused checkout must leave as it was. */
async function snapshot (env: TestEnv, buyer: Shopper, variants: string[]) {
  const stock = await env.app.db.selectFrom('productVariants').select(['id', 'stock']).where('id', 'in', variants).orderBy('id').execute()
  const cart = await env.app.db.selectFrom('cartItems').select(['variantId', 'quantity']).where('userId', '=', buyer.id).orderBy('variantId').execute()
  const orders = await env.app.db.selectFrom('orders').select('id').execute()
  const checkouts = await env.app.db.selectFrom('checkouts').select('id').execute()
  return { stock, cart, orders: orders.length, checkouts: checkouts.length }
}

async function placed (env: TestEnv, res: { statusCode: number, body: string, json: () => any }) {
  if (res.statusCode !== 201) throw new Error(`checkout refused: ${res.statusCode} ${res.body}`)
  const rows = await env.app.db.selectFrom('orders').select(['workspaceId', 'shippingAmount', 'shippingRateId', 'shippingRateName', 'subtotalAmount', 'totalAmount'])
    .where('checkoutId', '=', res.json().checkoutId).execute()
  return new Map(rows.map((r) => [r.workspaceId, r]))
}

async function refused (t: Test, env: TestEnv, buyer: Shopper, variants: string[], body: object, code: string, extra: Record<string, unknown>, pointer?: string) {
  const before = await snapshot(env, buyer, variants)
  const res = await checkout(env, buyer, undefined, body)
  t.equal(res.statusCode, 409, res.body)
  t.equal(res.json().code, code)
  t.match(res.json(), extra)
  if (pointer) t.equal(res.json().errors?.[0]?.pointer, pointer, `names ${pointer}`)
  t.same(await snapshot(env, buyer, variants), before, `${code}: stock, cart and orders as they were`)
  return res
}

t.test('no rates: free; otherwise the cheapest rate that applies, free over its threshold (inclusive)', async (t) => {
  const { env, a, b, shirt, mug, buyer } = await shop(t)
  const flat = await createShippingRate(env, a, { name: 'Standard', amount: 500, countries: ['US'] })
  const free = await createShippingRate(env, a, { name: 'Free over 50', kind: 'free_over', amount: 700, freeOver: 5000 })
  await addToCart(env, buyer, shirt.variants[0].id, 2)
  await addToCart(env, buyer, mug.variants[0].id, 1)
  const first = await placed(env, await checkout(env, buyer))
  t.match(first.get(a.workspaceId), { subtotalAmount: 4000, shippingAmount: 500, shippingRateId: flat.id, shippingRateName: 'Standard', totalAmount: 4500 }, 'A: flat 500 beats 700 below the threshold')
  t.match(first.get(b.workspaceId), { shippingAmount: 0, shippingRateId: null, shippingRateName: null, totalAmount: 1500 }, 'B has no rates: free')

  const exact = await createProduct(env, a, { price: 5000, variants: [{ stock: 5 }] })
  await addToCart(env, buyer, exact.variants[0].id, 1)
  const second = await placed(env, await checkout(env, buyer))
  t.match(second.get(a.workspaceId), { subtotalAmount: 5000, shippingAmount: 0, shippingRateId: free.id, totalAmount: 5000 }, 'at the threshold exactly: free, the cheapest')
})

t.test('the destination\'s country filters the rates; a store with none for it is 409 NOT_SHIPPABLE, nothing changed', async (t) => {
  const { env, a, b, shirt, mug, buyer, variants } = await shop(t)
  await createShippingRate(env, a, { name: 'US only', amount: 500, countries: ['US'] })
  const world = await createShippingRate(env, a, { name: 'World', amount: 1500 })
  await createShippingRate(env, b, { name: 'B to the US', amount: 300, countries: ['US', 'CA'] })
  await addToCart(env, buyer, shirt.variants[0].id, 1)
  await addToCart(env, buyer, mug.variants[0].id, 1)

  await refused(t, env, buyer, variants, { shippingAddress: FR }, 'NOT_SHIPPABLE', { workspaceId: b.workspaceId })
  const cart = await env.app.inject({ method: 'GET', url: '/cart?country=FR', headers: buyer.session.headers })
  t.same(cart.json().summaries[0].issues, [{ code: 'NOT_SHIPPABLE', workspaceId: b.workspaceId }], 'the cart shows the same issue')

  const removed = await env.app.inject({ method: 'DELETE', url: `/cart/items/${cart.json().items[1].id}`, headers: buyer.session.headers })
  t.equal(removed.statusCode, 204)
  const orders = await placed(env, await checkout(env, buyer, undefined, { shippingAddress: { ...FR, country: 'fr' } }))
  t.match(orders.get(a.workspaceId), { shippingAmount: 1500, shippingRateId: world.id }, 'to France only the worldwide rate applies')
})

t.test('a chosen rate is charged even when another is cheaper', async (t) => {
  const { env, a, b, shirt, mug, buyer } = await shop(t)
  const flat = await createShippingRate(env, a, { name: 'Express', amount: 900 })
  await createShippingRate(env, a, { name: 'Standard', amount: 400 })
  const bRate = await createShippingRate(env, b, { name: 'B post', amount: 250 })
  await addToCart(env, buyer, shirt.variants[0].id, 1)
  await addToCart(env, buyer, mug.variants[0].id, 1)
  const res = await checkout(env, buyer, undefined, { shippingAddressId: buyer.addressId, shippingRateIds: [flat.id] })
  const orders = await placed(env, res)
  t.match(orders.get(a.workspaceId), { shippingAmount: 900, shippingRateId: flat.id, shippingRateName: 'Express', totalAmount: 2900 }, 'A: the chosen Express')
  t.match(orders.get(b.workspaceId), { shippingAmount: 250, shippingRateId: bRate.id, totalAmount: 1750 }, 'B: not named, its cheapest')
  t.equal(res.json().totals.shipping.amount, 1150)
  t.equal(res.json().total.amount, 4650)
})

t.test('a chosen rate that does not apply is 409 SHIPPING_RATE_UNAVAILABLE naming it, nothing changed', async (t) => {
  const { env, a, b, shirt, buyer, variants } = await shop(t)
  const usOnly = await createShippingRate(env, a, { name: 'US', amount: 500, countries: ['US'] })
  const gone = await createShippingRate(env, a, { name: 'Gone', amount: 100 })
  const off = await createShippingRate(env, a, { name: 'Paused', amount: 200, isActive: false })
  const eur = await createShippingRate(env, a, { name: 'Euro', amount: 200, currency: 'eur' })
  const others = await createShippingRate(env, b, { name: 'B post', amount: 50 })
  t.equal((await env.app.inject({ method: 'DELETE', url: `/workspaces/${a.workspaceId}/shipping-rates/${gone.id}`, headers: a.owner.headers })).statusCode, 204)
  await addToCart(env, buyer, shirt.variants[0].id, 1)

  const cases: Array<[string, string[], string, object?]> = [
    ['another store\'s rate', [others.id], others.id],
    ['a deleted rate', [gone.id], gone.id],
    ['an inactive rate', [off.id], off.id],
    ['a rate in another currency', [eur.id], eur.id],
    ['a rate for another country', [usOnly.id], usOnly.id, FR],
    ['a rate that never existed', ['01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e99'], '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e99'],
    ['a second rate for the same store', [usOnly.id, off.id], off.id]
  ]
  for (const [label, ids, rateId, address] of cases) {
    t.comment(label)
    const body = address ? { shippingAddress: address, shippingRateIds: ids } : { shippingAddressId: buyer.addressId, shippingRateIds: ids }
    await refused(t, env, buyer, variants, body, 'SHIPPING_RATE_UNAVAILABLE', { rateId }, `/body/shippingRateIds/${ids.indexOf(rateId)}`)
  }
  const ok = await placed(env, await checkout(env, buyer, undefined, { shippingAddressId: buyer.addressId, shippingRateIds: [usOnly.id] }))
  t.match(ok.get(a.workspaceId), { shippingRateId: usOnly.id, shippingAmount: 500 }, 'the cart was kept for a good choice')
})

t.test('a store whose rates are all inactive does not ship; one whose rates are all deleted ships free again', async (t) => {
  const { env, a, shirt, buyer, variants } = await shop(t)
  const rate = await createShippingRate(env, a, { name: 'Paused', amount: 500, isActive: false })
  await addToCart(env, buyer, shirt.variants[0].id, 1)
  await refused(t, env, buyer, variants, { shippingAddressId: buyer.addressId }, 'NOT_SHIPPABLE', { workspaceId: a.workspaceId })
  t.equal((await env.app.inject({ method: 'DELETE', url: `/workspaces/${a.workspaceId}/shipping-rates/${rate.id}`, headers: a.owner.headers })).statusCode, 204)
  const orders = await placed(env, await checkout(env, buyer))
  t.match(orders.get(a.workspaceId), { shippingAmount: 0, shippingRateId: null })
})

t.test('shippingRateIds is checked before anything: 400 naming the field', async (t) => {
  const { env, shirt, buyer, variants } = await shop(t)
  await addToCart(env, buyer, shirt.variants[0].id, 1)
  const id = '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e99'
  const cases: Array<[string, unknown]> = [['empty', []], ['not a uuid', ['nope']], ['twice', [id, id]], ['too many', Array.from({ length: 51 }, (_, i) => `01936b2e-7c4e-7d4a-9b1e-${String(i).padStart(12, '0')}`)], ['not a list', id]]
  const before = await snapshot(env, buyer, variants)
  for (const [label, value] of cases) {
    const res = await checkout(env, buyer, undefined, { shippingAddressId: buyer.addressId, shippingRateIds: value })
    t.equal(res.statusCode, 400, `${label}: 400`)
    t.ok(res.json().errors?.some((e: { pointer: string }) => e.pointer.startsWith('/body/shippingRateIds')), `${label}: names shippingRateIds (${JSON.stringify(res.json().errors)})`)
  }
  t.same(await snapshot(env, buyer, variants), before, 'nothing changed')
})

t.test('GET /cart/shipping-options lists each store order\'s rates as checkout prices them, cheapest first', async (t) => {
  const { env, a, b, shirt, mug, buyer } = await shop(t)
  const c = await approvedStore(env)
  const lamp = await createProduct(env, c, { price: 1000, variants: [{ stock: 5 }] })
  const flat = await createShippingRate(env, a, { name: 'Standard', amount: 500, countries: ['US'] })
  const free = await createShippingRate(env, a, { name: 'Free over 50', kind: 'free_over', amount: 700, freeOver: 5000 })
  await createShippingRate(env, a, { name: 'Paused', amount: 100, isActive: false })
  await createShippingRate(env, a, { name: 'Euro', amount: 100, currency: 'eur' })
  await createShippingRate(env, c, { name: 'Canada only', amount: 100, countries: ['CA'] })
  await addToCart(env, buyer, shirt.variants[0].id, 2)
  await addToCart(env, buyer, mug.variants[0].id, 1)
  await addToCart(env, buyer, lamp.variants[0].id, 1)
  const get = (query = '', headers = buyer.session.headers) => env.app.inject({ method: 'GET', url: `/cart/shipping-options${query}`, headers })

  const res = await get()
  t.equal(res.statusCode, 200, res.body)
  const usd = (amount: number) => ({ amount, currency: 'usd' })
  const expected = [
    { workspaceId: a.workspaceId, currency: 'usd', shippable: true, options: [{ rateId: flat.id, name: 'Standard', amount: usd(500), cheapest: true }, { rateId: free.id, name: 'Free over 50', amount: usd(700), cheapest: false }] },
    { workspaceId: b.workspaceId, currency: 'usd', shippable: true, options: [] },
    { workspaceId: c.workspaceId, currency: 'usd', shippable: false, options: [] }
  ].sort((x, y) => (x.workspaceId < y.workspaceId ? -1 : 1))
  t.same(res.json(), { destination: { country: 'US', region: null }, items: expected }, 'the default address: A two rates, B no rates (free), C none for the US')

  const fr = await get('?country=fr')
  t.same(fr.json().items.find((i: { workspaceId: string }) => i.workspaceId === a.workspaceId).options, [{ rateId: free.id, name: 'Free over 50', amount: usd(700), cheapest: true }], 'France: only the worldwide rate')
  t.same(fr.json().destination, { country: 'FR', region: null })

  // The listed, not cheapest, rate is charged when chosen (C removed: it does not ship to the US).
  const cart = await env.app.inject({ method: 'GET', url: '/cart', headers: buyer.session.headers })
  const lampLine = cart.json().items.find((i: { variantId: string }) => i.variantId === lamp.variants[0].id)
  await env.app.inject({ method: 'DELETE', url: `/cart/items/${lampLine.id}`, headers: buyer.session.headers })
  const placedOrders = await placed(env, await checkout(env, buyer, undefined, { shippingAddressId: buyer.addressId, shippingRateIds: [free.id] }))
  t.match(placedOrders.get(a.workspaceId), { shippingRateId: free.id, shippingAmount: 700 })
})

t.test('GET /cart/shipping-options: a destination asked for wrongly, or none at all, is refused naming the field', async (t) => {
  const { env, buyer } = await shop(t)
  const stranger = await shopper(env)
  const other = await env.app.inject({ method: 'GET', url: `/cart/shipping-options?shippingAddressId=${stranger.addressId}`, headers: buyer.session.headers })
  t.equal(other.statusCode, 404)
  t.equal(other.json().errors[0].pointer, '/querystring/shippingAddressId')
  const both = await env.app.inject({ method: 'GET', url: `/cart/shipping-options?shippingAddressId=${buyer.addressId}&country=US`, headers: buyer.session.headers })
  t.equal(both.statusCode, 400)
  const bad = await env.app.inject({ method: 'GET', url: '/cart/shipping-options?country=USA', headers: buyer.session.headers })
  t.equal(bad.json().errors[0].pointer, '/querystring/country')
  const user = await createUser(env)
  const noAddress = await env.app.inject({ method: 'GET', url: '/cart/shipping-options', headers: (await login(env.app, user.email)).headers })
  t.equal(noAddress.statusCode, 400, 'no default address and no country')
  t.equal(noAddress.json().errors[0].pointer, '/querystring/country')
  t.equal((await env.app.inject({ method: 'GET', url: '/cart/shipping-options' })).statusCode, 401)
  const empty = await env.app.inject({ method: 'GET', url: '/cart/shipping-options', headers: buyer.session.headers })
  t.same(empty.json(), { destination: { country: 'US', region: null }, items: [] }, 'an empty cart has no orders to ship')
})

// Rates cost no statement (plan §10.1): they are columns of statements that run anyway.
t.test('with shipping and tax rates and a chosen rate, a checkout still costs 8 statements; the options 1', async (t) => {
  const statements: string[] = []
  const { env } = await paymentEnv(t, { onQuery: (sql) => statements.push(sql) })
  const a = await approvedStore(env)
  const shirt = await createProduct(env, a, { price: 2000, variants: [{ stock: 20 }] })
  const flat = await createShippingRate(env, a, { name: 'Standard', amount: 500 })
  await createShippingRate(env, a, { name: 'Cheap', amount: 100 })
  await createTaxRate(env, await adminHeaders(env), { country: 'US', rateBps: 500 })
  const warm = await shopper(env)
  await addToCart(env, warm, shirt.variants[0].id, 1)
  t.equal((await checkout(env, warm)).statusCode, 201, 'warm-up checkout')

  const buyer = await shopper(env)
  await addToCart(env, buyer, shirt.variants[0].id, 2)
  statements.length = 0
  const options = await env.app.inject({ method: 'GET', url: '/cart/shipping-options', headers: buyer.session.headers })
  t.equal(options.statusCode, 200)
  t.equal(options.json().items[0].options.length, 2)
  t.equal(statements.length, 1, 'the options: one statement', { statements: [...statements] })

  statements.length = 0
  const res = await checkout(env, buyer, undefined, { shippingAddress: { street: '1 Main St', city: 'Town', zipCode: '12345', country: 'US' }, shippingRateIds: [flat.id] })
  t.equal(res.statusCode, 201, res.body)
  t.same(res.json().totals, { subtotal: usd(4000), discount: usd(0), shipping: usd(500), tax: usd(200), taxInclusive: false, total: usd(4700) })
  t.equal(statements.length, 8, 'the checkout: eight statements, as without rates', { statements: [...statements] })
})

function usd (amount: number) { return { amount, currency: 'usd' } }
