import t, { type Test } from 'tap'
import type { TestEnv } from '../../helpers/app.ts'
import { addToCart, applyCode, approvedStore, checkout, createProduct, createPromotion, shopper, type Shopper } from '../../helpers/commerce.ts'
import { outboxCount, paymentEnv } from '../../helpers/payments.ts'
import { countRoundTrips } from '../../helpers/redis-round-trips.ts'

// What one checkout costs (issue 11): SQL statements and Redis round trips, as budgets that
// fail when exceeded, however many lines and stores. The statements: begin; take the cart
// (delete … returning, with the variants' facts); the key's earlier checkout, the customer's
// contact, the store names, the saved address and all pricing needs (issue 14: the applied
// code, shipping and tax rates, commissions), in one statement; take the stock (lock in id
// order, check and decrement every line); write the checkout, orders, items, history and emails; commit;
// store the payment intent; check what is owed (a cancel racing the intent). Redis: the
// session check, the Idempotency-Key claim (sent with a read of the key, so a replay needs no
// further trip), and the stored response.

const INLINE_ADDRESS = { shippingAddress: { street: '1 Main St', city: 'Town', zipCode: '12345', country: 'US' } }

interface Measured { status: number, body: any, statements: string[], trips: string[] }

async function setUp (t: Test) {
  const statements: string[] = []
  const { env, stripe } = await paymentEnv(t, { onQuery: (sql) => statements.push(sql) })
  const trips = countRoundTrips(env.app.redis)
  const measure = async (run: () => Promise<{ statusCode: number, body: string }>): Promise<Measured> => {
    statements.length = 0
    trips.reset()
    const res = await run()
    return { status: res.statusCode, body: JSON.parse(res.body), statements: [...statements], trips: trips.trips.map((trip) => trip.join('+')) }
  }
  return { env, stripe, measure }
}

async function warmUp (t: Test, env: TestEnv, variantId: string) {
  // The first checkout of a fresh app loads Redis scripts and the Stripe client: not counted.
  const first = await shopper(env)
  await addToCart(env, first, variantId, 1)
  t.equal((await checkout(env, first)).statusCode, 201, 'warm-up checkout')
}

t.test('a checkout of one line from one store: 8 statements (inline address) and 3 Redis round trips', async (t) => {
  const { env, stripe, measure } = await setUp(t)
  const store = await approvedStore(env)
  const tee = await createProduct(env, store, { price: 2500, variants: [{ stock: 10 }] })
  await warmUp(t, env, tee.variants[0].id)
  const buyer = await shopper(env)
  await addToCart(env, buyer, tee.variants[0].id, 2)

  const placed = await measure(() => checkout(env, buyer, 'budget-one', INLINE_ADDRESS))
  t.equal(placed.status, 201)
  t.equal(placed.body.orders.length, 1)
  t.same(placed.body.total, { amount: 5000, currency: 'usd' })
  t.equal(placed.statements.length, 8, 'eight SQL statements', { statements: placed.statements })
  t.equal(placed.trips.length, 3, 'three Redis round trips', { trips: placed.trips })
  t.equal(stripe.intents.get(placed.body.payment.paymentIntentId)?.amount, 5000, 'one intent for the total')

  // A retry under the same key is replayed from Redis: no SQL at all.
  const replayed = await measure(() => checkout(env, buyer, 'budget-one', INLINE_ADDRESS))
  t.equal(replayed.status, 201)
  t.same(replayed.body, placed.body, 'the first answer')
  t.equal(replayed.statements.length, 0, 'a replay runs no SQL', { statements: replayed.statements })
  t.equal(replayed.trips.length, 2, 'the session check, and the claim sent with the read of the stored answer', { trips: replayed.trips })
})

// Issue 14 made the saved-address checkout cheaper on purpose (9 → 8): its address is read in
// the facts statement, where pricing needs the destination's country for the tax rates anyway.
t.test('a checkout of three lines over two stores: 8 statements (saved address) and 3 Redis round trips, answered as a read shows the orders', async (t) => {
  const { env, stripe, measure } = await setUp(t)
  const a = await approvedStore(env)
  const b = await approvedStore(env)
  const shirt = await createProduct(env, a, { title: 'Shirt', price: 3000, discountPercentage: 10, variants: [{ size: 'M', stock: 5 }, { size: 'L', stock: 5, price: 3500 }] })
  const mug = await createProduct(env, b, { title: 'Mug', price: 1200, variants: [{ stock: 9 }] })
  await warmUp(t, env, mug.variants[0].id)
  const buyer: Shopper = await shopper(env)
  await addToCart(env, buyer, shirt.variants[0].id, 2)
  await addToCart(env, buyer, mug.variants[0].id, 3)
  await addToCart(env, buyer, shirt.variants[1].id, 1)
  const emailsBefore = await outboxCount(env, 'order-placed')

  const placed = await measure(() => checkout(env, buyer, 'budget-three', { shippingAddressId: buyer.addressId, note: 'ring twice' }))
  t.equal(placed.status, 201)
  t.equal(placed.body.orders.length, 2, 'one order per store')
  t.same(placed.body.total, { amount: 2700 * 2 + 3150 + 3600, currency: 'usd' })
  t.equal(placed.statements.length, 8, 'eight SQL statements: the saved address is read with the other facts', { statements: placed.statements })
  t.equal(placed.trips.length, 3, 'three Redis round trips', { trips: placed.trips })

  // The orders in the answer are written, not read back: they must be what a read shows.
  for (const order of placed.body.orders) {
    const read = await env.app.inject({ method: 'GET', url: `/orders/${order.id}`, headers: buyer.session.headers })
    t.equal(JSON.stringify(order), read.body, `order ${order.id} in the answer is byte for byte GET /orders/:id`)
  }
  t.same(placed.body.orders.map((o: any) => o.id), [...placed.body.orders.map((o: any) => o.id)].sort(), 'orders in id order')
  t.equal(await outboxCount(env, 'order-placed') - emailsBefore, 2, 'one placed email per order in the outbox')
  const intents = stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents')
  t.equal(intents.at(-1)!.body.amount, String(placed.body.total.amount), 'one intent for the total')
  const stock = await env.app.db.selectFrom('productVariants').select(['id', 'stock']).where('id', 'in', [shirt.variants[0].id, shirt.variants[1].id, mug.variants[0].id]).execute()
  t.same(Object.fromEntries(stock.map((s) => [s.id, s.stock])), { [shirt.variants[0].id]: 3, [shirt.variants[1].id]: 4, [mug.variants[0].id]: 5 }, 'every line\'s stock taken')
  t.same(await env.app.db.selectFrom('cartItems').select('id').where('userId', '=', buyer.id).execute(), [], 'the cart is empty')
})

// Issue 14, WP2: a code costs checkout one statement, the guarded take of its use (with the
// customer's use, the redemption and the cart's code, in one CTE); its terms come with the facts.
t.test('a checkout with a promotion code: 9 statements, the intent for the discounted total', async (t) => {
  const { env, stripe, measure } = await setUp(t)
  const store = await approvedStore(env)
  const tee = await createProduct(env, store, { price: 2500, variants: [{ stock: 10 }] })
  await warmUp(t, env, tee.variants[0].id)
  const promotion = await createPromotion(env, 'platform', { code: 'BUDGET10', percentBps: 1000, maxUses: 5 })
  const buyer = await shopper(env)
  await addToCart(env, buyer, tee.variants[0].id, 2)
  t.equal((await applyCode(env, buyer, 'budget10')).statusCode, 200)

  const placed = await measure(() => checkout(env, buyer, 'budget-code', INLINE_ADDRESS))
  t.equal(placed.status, 201)
  t.same([placed.body.totals.discount, placed.body.total], [{ amount: 500, currency: 'usd' }, { amount: 4500, currency: 'usd' }])
  t.equal(placed.statements.length, 9, 'nine SQL statements: the eight, and the use of the code', { statements: placed.statements })
  t.equal(placed.trips.length, 3, 'three Redis round trips', { trips: placed.trips })
  t.equal(stripe.intents.get(placed.body.payment.paymentIntentId)?.amount, 4500, 'one intent for the discounted total')
  t.equal((await env.app.db.selectFrom('promotions').select('usedCount').where('id', '=', promotion.id).executeTakeFirstOrThrow()).usedCount, 1)
})
