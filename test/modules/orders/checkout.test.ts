import t from 'tap'
import { createTestEnv, eventually } from '../../helpers/app.ts'
import { addToCart, approvedStore, checkout, createProduct, shopper } from '../../helpers/commerce.ts'
import { startStripeDouble } from '../../helpers/stripe-double.ts'
import { sortBurst } from '../../helpers/idempotent-burst.ts'

t.test('200 concurrent checkouts of a variant with stock 10: exactly 10 orders, no oversell', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { variants: [{ stock: 10 }] })
  const variantId = product.variants[0].id
  const shoppers = []
  for (let i = 0; i < 200; i++) {
    const s = await shopper(env)
    t.equal((await addToCart(env, s, variantId)).statusCode, 200)
    shoppers.push(s)
  }
  const results = await Promise.all(shoppers.map((s) => checkout(env, s)))
  const statuses = results.map((r) => r.statusCode)
  t.equal(statuses.filter((s) => s === 201).length, 10, 'ten orders')
  t.equal(statuses.filter((s) => s === 409).length, 190, '190 refused')
  t.equal(statuses.filter((s) => s >= 500).length, 0, 'no server error')
  t.ok(results.filter((r) => r.statusCode === 409).every((r) => r.json().code === 'OUT_OF_STOCK'), 'all refusals are OUT_OF_STOCK')
  const variant = await env.app.db.selectFrom('productVariants').select('stock').where('id', '=', variantId).executeTakeFirstOrThrow()
  t.equal(variant.stock, 0, 'stock is exactly zero')
  const orders = await env.app.db.selectFrom('orders').select('id').execute()
  t.equal(orders.length, 10)
  const refusedCarts = await env.app.db.selectFrom('cartItems').select('id').execute()
  t.equal(refusedCarts.length, 190, 'a refused checkout leaves its cart as it was')
})

t.test('100 concurrent multi-item checkouts over 5 hot variants: no deadlock, never below zero', async (t) => {
  const env = await createTestEnv(t)
  const stores = [await approvedStore(env), await approvedStore(env)]
  const hot = []
  for (let i = 0; i < 5; i++) hot.push((await createProduct(env, stores[i % 2]!, { variants: [{ stock: 40 }] })).variants[0].id)
  const shoppers = []
  for (let i = 0; i < 100; i++) {
    const s = await shopper(env)
    // Random items in a random order, so lock orders would differ without sorting.
    const picks = [...hot].sort(() => Math.random() - 0.5).slice(0, 2 + (i % 3))
    for (const id of picks) await addToCart(env, s, id, 1 + (i % 2))
    shoppers.push(s)
  }
  const results = await Promise.all(shoppers.map((s) => checkout(env, s)))
  t.equal(results.filter((r) => r.statusCode >= 500).length, 0, 'no deadlock surfaced as a 5xx')
  t.ok(results.every((r) => r.statusCode === 201 || (r.statusCode === 409 && r.json().code === 'OUT_OF_STOCK')), 'each checkout succeeded or was out of stock')
  const variants = await env.app.db.selectFrom('productVariants').select(['id', 'stock']).where('id', 'in', hot).execute()
  t.ok(variants.every((v) => v.stock >= 0), 'no variant below zero')
  const sold = await env.app.db.selectFrom('orderItems').select(['variantId', (eb) => eb.fn.sum<number>('quantity').as('q')]).groupBy('variantId').execute()
  for (const v of variants) {
    const q = Number(sold.find((s) => s.variantId === v.id)?.q ?? 0)
    t.equal(v.stock + q, 40, 'stock + sold = initial stock')
  }
})

t.test('one Idempotency-Key: twenty parallel requests make one checkout and one PaymentIntent', async (t) => {
  const stripe = await startStripeDouble()
  t.teardown(() => stripe.close())
  const env = await createTestEnv(t, { config: { stripe: { secretKey: stripe.secretKey, webhookSecret: stripe.webhookSecret, apiUrl: stripe.url } } })
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { price: 1999, variants: [{ stock: 50 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, product.variants[0].id, 2)

  const results = await Promise.all(Array.from({ length: 20 }, () => checkout(env, buyer, 'one-key')))
  const { ran: created, replays, unexplained } = sortBurst(results)
  t.equal(created.length, 1, 'one checkout runs')
  t.equal(created[0]!.statusCode, 201)
  t.equal(unexplained, 0, 'the others are told it is in progress or get its replay')
  t.ok(replays.every((r) => r.body === created[0]!.body))
  t.equal((await env.app.db.selectFrom('checkouts').select('id').execute()).length, 1)
  const intents = stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents')
  t.equal(intents.length, 1, 'one PaymentIntent request at Stripe')
  const body = created[0]!.json()
  t.equal(intents[0]!.idempotencyKey, `checkout-${body.checkoutId}`, 'with an idempotency key derived from the checkout')
  t.equal(intents[0]!.body.amount, '3998', 'the amount in minor units')
  t.equal(intents[0]!.body.currency, 'usd')
  t.equal(body.payment.provider, 'stripe')
  t.match(body.payment.clientSecret, /_secret_/)

  const retry = await checkout(env, buyer, 'one-key')
  t.equal(retry.statusCode, 201)
  t.equal(retry.body, created[0]!.body, 'a later retry gets the identical response')
  t.equal(stripe.requests.filter((r) => r.path === '/v1/payment_intents').length, 1, 'and makes no new PaymentIntent')
  const other = await checkout(env, buyer, 'one-key', { shippingAddress: { street: '9 Other Rd', city: 'Elsewhere', zipCode: '999', country: 'US' } })
  t.equal(other.statusCode, 422)
  t.equal(other.json().code, 'IDEMPOTENCY_KEY_REUSED')
  const noKey = await env.app.inject({ method: 'POST', url: '/orders', headers: buyer.session.headers, payload: { shippingAddressId: buyer.addressId } })
  t.equal(noKey.statusCode, 400)
  t.equal(noKey.json().errors[0].pointer, '/headers/idempotency-key')
})

t.test('a checkout makes one order per workspace at the prices of that moment and empties the cart', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const a = await approvedStore(env)
  const b = await approvedStore(env)
  const shirt = await createProduct(env, a, { title: 'Shirt', price: 3000, discountPercentage: 10, variants: [{ size: 'M', stock: 5 }, { size: 'L', stock: 5, price: 3500 }] })
  const mug = await createProduct(env, b, { title: 'Mug', price: 1200, variants: [{ stock: 9 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, shirt.variants[0].id, 2)
  await addToCart(env, buyer, shirt.variants[1].id, 1)
  await addToCart(env, buyer, mug.variants[0].id, 3)
  const cart = (await env.app.inject({ method: 'GET', url: '/cart', headers: buyer.session.headers })).json()
  t.same(cart.totals, [{ amount: 2700 * 2 + 3150 + 3600, currency: 'usd' }], 'cart total at current prices')

  const res = await checkout(env, buyer)
  t.equal(res.statusCode, 201)
  const body = res.json()
  t.equal(body.orders.length, 2, 'one order per workspace')
  t.same(body.total, { amount: 12150, currency: 'usd' })
  t.equal(body.payment.provider, 'simulator')
  const orderA = body.orders.find((o: any) => o.workspaceId === a.workspaceId)
  t.same(orderA.total, { amount: 8550, currency: 'usd' })
  t.same(orderA.items.map((i: any) => [i.size, i.quantity, i.unitPrice.amount, i.lineTotal.amount]).sort(), [['L', 1, 3150, 3150], ['M', 2, 2700, 5400]])
  t.match(orderA, { status: 'pending', paymentStatus: 'unpaid', history: [{ from: null, to: 'pending', actor: 'customer' }] })
  t.same((await env.app.inject({ method: 'GET', url: '/cart', headers: buyer.session.headers })).json().items, [], 'cart emptied')

  await env.app.inject({ method: 'PATCH', url: `/workspaces/${a.workspaceId}/products/${shirt.id}`, headers: a.owner.headers, payload: { price: { amount: 9900, currency: 'usd' } } })
  const again = await env.app.inject({ method: 'GET', url: `/orders/${orderA.id}`, headers: buyer.session.headers })
  t.same(again.json().total, { amount: 8550, currency: 'usd' }, 'prices frozen on the order')
  const stock = await env.app.db.selectFrom('productVariants').select(['id', 'stock']).where('productId', 'in', [shirt.id, mug.id]).orderBy('position').execute()
  t.same(stock.map((s) => s.stock).sort(), [3, 4, 6], 'stock taken')

  // One "placed" email per order, to the buyer only, naming that order and its store: counted
  // where they are written (the outbox, in the checkout's transaction) and where they arrive
  // (the SMTP server), once the outbox and the email queue have drained, so a third would show.
  const orderB = body.orders.find((o: any) => o.workspaceId === b.workspaceId)
  const shortId = (id: string) => id.slice(-8).toUpperCase()
  const written = await env.app.db.selectFrom('outbox').select('jobName').where('queue', '=', 'email').execute()
  t.same(written.map((row) => row.jobName), ['order-placed', 'order-placed'], 'the checkout wrote exactly two emails, both order-placed')
  const drained = await eventually(async () => {
    const pending = await env.app.db.selectFrom('outbox').select('id').where('relayedAt', 'is', null).execute()
    const queued = await env.app.queues.email.getJobCounts('waiting', 'active', 'delayed', 'prioritized')
    return pending.length === 0 && Object.values(queued).every((n) => n === 0) ? queued : null
  }, 20000)
  t.same(Object.values(drained), [0, 0, 0, 0], 'every queued email was handled')
  t.equal(await env.app.queues.email.getFailedCount(), 0, 'none failed')
  // The setup's logins send sign-in notices (queued directly, not through the outbox); every
  // other email that arrived must be one of the two below.
  const sent = env.smtp!.messages
    .filter((m) => !/^New sign-in to your Bazaar account$/.test(m.subject))
    .map((m) => ({ to: m.to, subject: m.subject }))
    .sort((x, y) => x.subject.localeCompare(y.subject))
  const expected = [
    { to: [buyer.email], subject: `Order ${shortId(orderA.id)} placed` },
    { to: [buyer.email], subject: `Order ${shortId(orderB.id)} placed` }
  ].sort((x, y) => x.subject.localeCompare(y.subject))
  t.same(sent, expected, 'the SMTP server received exactly the two placed emails, one per order, to the buyer')
  const mailOf = (orderId: string) => env.smtp!.messages.find((m) => m.subject === `Order ${shortId(orderId)} placed`)
  t.match(mailOf(orderA.id)?.text, `from ${a.name}, total 85.50 USD`, 'the first names its store and total')
  t.match(mailOf(orderB.id)?.text, `from ${b.name}, total 36.00 USD`, 'the second names its store and total')
})

t.test('checkout refuses an empty cart, mixed currencies, and a sold-out line, changing nothing', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const usd = await createProduct(env, store, { price: 1000, currency: 'usd', variants: [{ stock: 3 }] })
  const eur = await createProduct(env, store, { price: 1000, currency: 'eur', variants: [{ stock: 3 }] })
  const buyer = await shopper(env)
  const empty = await checkout(env, buyer)
  t.equal(empty.statusCode, 409)
  t.equal(empty.json().code, 'CART_EMPTY')
  await addToCart(env, buyer, usd.variants[0].id)
  await addToCart(env, buyer, eur.variants[0].id)
  const mixed = await checkout(env, buyer)
  t.equal(mixed.statusCode, 409)
  t.equal(mixed.json().code, 'MIXED_CURRENCIES')
  t.same(mixed.json().currencies, ['eur', 'usd'], 'naming the currencies, so the client can pass one')
  const totals = (await env.app.inject({ method: 'GET', url: '/cart', headers: buyer.session.headers })).json().totals
  t.same(totals.map((m: any) => m.currency).sort(), ['eur', 'usd'], 'the cart shows a total per currency')
  const stock = await env.app.db.selectFrom('productVariants').select('stock').execute()
  t.same(stock.map((s) => s.stock), [3, 3], 'no stock taken')
  t.equal((await env.app.db.selectFrom('orders').select('id').execute()).length, 0)
  const badAddress = await checkout(env, buyer, 'k-addr', { shippingAddressId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f' })
  t.equal(badAddress.statusCode, 404)
  t.equal(badAddress.json().errors[0].pointer, '/body/shippingAddressId')
})

t.test('a checkout above what one payment can charge is refused before any stock is taken', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const dear = await createProduct(env, store, { price: 60_000_000, discountPercentage: 5, variants: [{ stock: 5 }] })
  t.equal(dear.finalPrice.amount, 57_000_000, 'a large price is discounted without overflowing')
  const buyer = await shopper(env)
  t.equal((await addToCart(env, buyer, dear.variants[0].id, 2)).statusCode, 200)
  const res = await checkout(env, buyer)
  t.equal(res.statusCode, 409)
  t.equal(res.json().code, 'AMOUNT_TOO_LARGE')
  const stock = await env.app.db.selectFrom('productVariants').select('stock').where('id', '=', dear.variants[0].id).executeTakeFirstOrThrow()
  t.equal(stock.stock, 5, 'no stock taken')
  t.equal((await env.app.db.selectFrom('checkouts').select('id').execute()).length, 0)
  t.equal((await env.app.db.selectFrom('cartItems').select('id').execute()).length, 1, 'the cart is kept')
})
