import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { addToCart, approvedStore, createProduct, shopper } from '../../helpers/commerce.ts'
import { countRoundTrips } from '../../helpers/redis-round-trips.ts'

// What one add to the cart costs (issue 11): SQL statements and Redis round trips, as budgets
// that fail when exceeded. An add is one statement (the guarded upsert answering with the cart)
// after the session check's one round trip; a refusal two (the attempt, and one read of why),
// answering no cart. Issue 14's summaries (discount, shipping, tax per currency) need the
// applied code, the rates and the destination: these are columns of that same statement (the
// workspaces derived in SQL from the cart as written), so they cost no statement, and none can
// fail after the add committed. The same holds for GET /cart and PATCH /cart/items/:id.

const BUDGET = { statements: 1, roundTrips: 1 }

t.test('adding a new line and adding to a line each cost one SQL statement and one Redis round trip', async (t) => {
  const statements: string[] = []
  const env = await createTestEnv(t, { onQuery: (sql) => statements.push(sql) })
  const trips = countRoundTrips(env.app.redis)
  const store = await approvedStore(env)
  const shirt = await createProduct(env, store, { title: 'Shirt', variants: [{ size: 'S', stock: 10 }, { size: 'M', stock: 10 }] })
  const other = await createProduct(env, store, { title: 'Mug', variants: [{ stock: 10 }] })
  const [s, m] = shirt.variants
  const buyer = await shopper(env)
  // Warm-up: the first request of a fresh app loads the session script into Redis.
  t.equal((await addToCart(env, buyer, other.variants[0].id, 1)).statusCode, 200)

  const measure = async (variantId: string, quantity: number) => {
    statements.length = 0
    trips.reset()
    const res = await addToCart(env, buyer, variantId, quantity)
    return { res, statements: [...statements], trips: trips.trips.map((trip) => trip.join('+')) }
  }

  const added = await measure(s.id, 2)
  t.equal(added.res.statusCode, 200)
  t.same(added.res.json().items.map((i: any) => [i.title, i.size, i.quantity]), [['Mug', null, 1], ['Shirt', 'S', 2]], 'the answer is the cart with the new line')
  t.equal(added.statements.length, BUDGET.statements, `a new line: ${BUDGET.statements} statement(s)`, { statements: added.statements })
  t.equal(added.trips.length, BUDGET.roundTrips, `a new line: ${BUDGET.roundTrips} Redis round trip(s)`, { trips: added.trips })

  const summed = await measure(s.id, 3)
  t.equal(summed.res.statusCode, 200)
  t.same(summed.res.json().items.map((i: any) => [i.size, i.quantity]), [[null, 1], ['S', 5]], 'the line holds 2 + 3')
  t.equal(summed.res.json().itemCount, 6)
  t.equal(summed.statements.length, BUDGET.statements, `adding to a line: ${BUDGET.statements} statement(s)`, { statements: summed.statements })
  t.equal(summed.trips.length, BUDGET.roundTrips, `adding to a line: ${BUDGET.roundTrips} Redis round trip(s)`, { trips: summed.trips })

  // The same holds for a line other than the newest, and the answer keeps the cart's order.
  await addToCart(env, buyer, m.id, 1)
  const again = await measure(s.id, 1)
  t.same(again.res.json().items.map((i: any) => [i.title, i.size, i.quantity]), [['Mug', null, 1], ['Shirt', 'S', 6], ['Shirt', 'M', 1]], 'lines in the order they were added')
  t.equal(again.statements.length, BUDGET.statements, { statements: again.statements })
  const stored = await env.app.db.selectFrom('cartItems').select(['variantId', 'quantity']).where('userId', '=', buyer.id).orderBy('createdAt').orderBy('id').execute()
  t.same(stored.map((r) => r.quantity), [1, 6, 1], 'the database holds what the answer shows')
})

t.test('a refused add costs two SQL statements (the attempt and one read of why) and answers as before', async (t) => {
  const statements: string[] = []
  const env = await createTestEnv(t, { onQuery: (sql) => statements.push(sql) })
  const store = await approvedStore(env)
  const lamp = await createProduct(env, store, { title: 'Lamp', variants: [{ stock: 3 }] })
  const plenty = await createProduct(env, store, { title: 'Pin', variants: [{ stock: 5000 }] })
  const off = await createProduct(env, store, { title: 'Retired', isActive: false, variants: [{ stock: 5 }] })
  const buyer = await shopper(env)
  t.equal((await addToCart(env, buyer, lamp.variants[0].id, 2)).statusCode, 200)
  t.equal((await addToCart(env, buyer, plenty.variants[0].id, 998)).statusCode, 200)

  const refused = async (variantId: string, quantity: number) => {
    statements.length = 0
    const res = await addToCart(env, buyer, variantId, quantity)
    return { res, body: res.json(), statements: [...statements] }
  }
  const short = await refused(lamp.variants[0].id, 2)
  t.equal(short.res.statusCode, 409)
  t.match(short.body, { code: 'OUT_OF_STOCK', variantId: lamp.variants[0].id, available: 3 }, 'out of stock names the variant and what is left')
  t.equal(short.statements.length, 2, 'out of stock: 2 statements', { statements: short.statements })

  const limit = await refused(plenty.variants[0].id, 2)
  t.equal(limit.res.statusCode, 409)
  t.match(limit.body, { code: 'QUANTITY_LIMIT', errors: [{ pointer: '/body/quantity' }] }, 'over the line limit')
  t.equal(limit.statements.length, 2, 'line limit: 2 statements', { statements: limit.statements })

  for (const [label, variantId] of [['off sale', off.variants[0].id], ['unknown', '00000000-0000-4000-8000-000000000000']] as const) {
    const missing = await refused(variantId, 1)
    t.equal(missing.res.statusCode, 404, label)
    t.match(missing.body, { code: 'NOT_FOUND', errors: [{ pointer: '/body/variantId' }] }, `${label}: not found, naming the field`)
    t.equal(missing.statements.length, 2, `${label}: 2 statements`, { statements: missing.statements })
  }
  const stored = await env.app.db.selectFrom('cartItems').select('quantity').where('userId', '=', buyer.id).orderBy('createdAt').execute()
  t.same(stored.map((r) => r.quantity), [2, 998], 'refusals changed nothing')
})

t.test('reading the cart costs one SQL statement, and setting a line\'s quantity six, summaries included', async (t) => {
  const statements: string[] = []
  const env = await createTestEnv(t, { onQuery: (sql) => statements.push(sql) })
  const store = await approvedStore(env)
  const mug = await createProduct(env, store, { title: 'Mug', variants: [{ stock: 10 }] })
  const buyer = await shopper(env)
  const measure = async (request: { method: 'GET' | 'PATCH', url: string, payload?: object }) => {
    statements.length = 0
    const res = await env.app.inject({ ...request, headers: buyer.session.headers })
    return { res, statements: [...statements] }
  }
  // An empty cart naming no address reads only the lines (none): nothing to price.
  const empty = await measure({ method: 'GET', url: '/cart' })
  t.equal(empty.res.statusCode, 200)
  t.equal(empty.statements.length, 1, 'empty cart: 1 statement', { statements: empty.statements })
  // An empty cart naming an address answers no line row to carry pricing's columns: the address
  // is read on its own, to tell a foreign one (404).
  const emptyNamed = await measure({ method: 'GET', url: `/cart?shippingAddressId=${buyer.addressId}` })
  t.equal(emptyNamed.res.statusCode, 200)
  t.equal(emptyNamed.statements.length, 2, 'empty cart naming an address: 2 statements', { statements: emptyNamed.statements })

  const added = await addToCart(env, buyer, mug.variants[0].id, 2)
  t.equal(added.statusCode, 200)
  t.equal(added.json().summaries.length, 1, 'the add answers with the summary')
  for (const url of ['/cart', `/cart?shippingAddressId=${buyer.addressId}`, '/cart?country=US&region=CA']) {
    const read = await measure({ method: 'GET', url })
    t.equal(read.res.statusCode, 200, url)
    t.same(read.res.json().summaries.map((s: any) => [s.currency, s.total.amount]), added.json().summaries.map((s: any) => [s.currency, s.total.amount]), `${url}: the summary`)
    t.equal(read.statements.length, 1, `${url}: 1 statement, summaries included`, { statements: read.statements })
  }
  const foreign = await measure({ method: 'GET', url: '/cart?shippingAddressId=00000000-0000-4000-8000-000000000000' })
  t.equal(foreign.res.statusCode, 404, 'an address not the customer\'s is not found')
  t.equal(foreign.statements.length, 1, { statements: foreign.statements })

  const line = added.json().items[0]
  const set = await measure({ method: 'PATCH', url: `/cart/items/${line.id}`, payload: { quantity: 3 } })
  t.equal(set.res.statusCode, 200)
  t.equal(set.res.json().items[0].quantity, 3)
  t.equal(set.res.json().summaries.length, 1)
  t.equal(set.statements.length, 6, 'PATCH: 6 statements (its transaction, then the one read of the cart)', { statements: set.statements })
})
