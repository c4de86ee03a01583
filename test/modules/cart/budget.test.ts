import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { addToCart, approvedStore, createProduct, shopper } from '../../helpers/commerce.ts'
import { countRoundTrips } from '../../helpers/redis-round-trips.ts'

// What one add to the cart costs (issue 11): SQL statements and Redis round trips, as budgets
// that fail when exceeded. An add is one statement (the guarded upsert answering with the
// cart) after the session check's one round trip; refusals may cost more (cart.test.ts).

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
