import t, { type Test } from 'tap'
import { sql } from 'kysely'
import { addToCart, approvedStore, checkout, createProduct, shopper } from '../../helpers/commerce.ts'
import { paymentEnv } from '../../helpers/payments.ts'

// Totals at checkout (issue 14, plan §2.5 and §3.4): checkout prices the cart once, through
// pricing's computeTotals, and freezes the result on the checkout, its orders and their items.
// The PaymentIntent charges exactly the checkout's total. Until promotions, shipping rates and
// tax rates exist (their work packages), every order is its subtotal, and the commission is
// the platform's default.

/** Store A sells 2 shirts at 2700 (3000 less 10 %), store B 3 mugs at 1333; checked out. */
async function twoStoreCheckout (t: Test) {
  const { env, stripe } = await paymentEnv(t)
  const a = await approvedStore(env)
  const b = await approvedStore(env)
  const shirt = await createProduct(env, a, { price: 3000, discountPercentage: 10, variants: [{ stock: 5 }] })
  const mug = await createProduct(env, b, { price: 1333, variants: [{ stock: 9 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, shirt.variants[0].id, 2)
  await addToCart(env, buyer, mug.variants[0].id, 3)
  const res = await checkout(env, buyer)
  t.equal(res.statusCode, 201, res.body)
  return { env, stripe, a, b, buyer, body: res.json() }
}

t.test('a checkout freezes its totals and commission on the checkout, its orders and items, and the intent charges their sum', async (t) => {
  const { env, stripe, a, b, body } = await twoStoreCheckout(t)
  const orders = await env.app.db.selectFrom('orders').selectAll().where('checkoutId', '=', body.checkoutId).orderBy('id').execute()
  const byWorkspace = new Map(orders.map((o) => [o.workspaceId, o]))
  const totals = (o: (typeof orders)[number]) => ({
    subtotal: o.subtotalAmount,
    discount: o.discountAmount,
    platformFunded: o.platformFundedDiscount,
    shipping: o.shippingAmount,
    shippingRate: o.shippingRateId,
    tax: o.taxAmount,
    taxInclusive: o.taxInclusive,
    taxRateBps: o.taxRateBps,
    total: o.totalAmount,
    commissionBps: o.commissionBps,
    commission: o.commissionAmount,
    promotion: o.promotionId
  })
  const none = { discount: 0, platformFunded: 0, shipping: 0, shippingRate: null, tax: 0, taxInclusive: false, taxRateBps: null, promotion: null, commissionBps: 1000 }
  t.same(totals(byWorkspace.get(a.workspaceId)!), { ...none, subtotal: 5400, total: 5400, commission: 540 }, 'store A: 2 × 2700, 10 % commission')
  // 3999 × 10 % = 399.9: the half-up rule gives the platform 400.
  t.same(totals(byWorkspace.get(b.workspaceId)!), { ...none, subtotal: 3999, total: 3999, commission: 400 }, 'store B: 3 × 1333, commission rounded half up')

  const items = await env.app.db.selectFrom('orderItems').select(['lineAmount', 'discountAmount', 'taxAmount']).where('orderId', 'in', orders.map((o) => o.id)).orderBy('lineAmount').execute()
  t.same(items, [{ lineAmount: 3999, discountAmount: 0, taxAmount: 0 }, { lineAmount: 5400, discountAmount: 0, taxAmount: 0 }], 'each item carries its discount and tax')

  const stored = await env.app.db.selectFrom('checkouts').select(['subtotalAmount', 'discountAmount', 'shippingAmount', 'taxAmount', 'taxInclusive', 'totalAmount', 'promotionCode'])
    .where('id', '=', body.checkoutId).executeTakeFirstOrThrow()
  t.same(stored, { subtotalAmount: 9399, discountAmount: 0, shippingAmount: 0, taxAmount: 0, taxInclusive: false, totalAmount: 9399, promotionCode: null }, 'the checkout holds the sums')
  t.equal(stripe.intents.get(body.payment.paymentIntentId)?.amount, 9399, 'the intent charges the checkout total')
  t.equal(body.total.amount, 9399)
})

t.test('the database keeps every order\'s total equal to its parts', async (t) => {
  const { env } = await paymentEnv(t)
  const store = await approvedStore(env)
  const tee = await createProduct(env, store, { price: 2500, variants: [{ stock: 5 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, tee.variants[0].id, 1)
  const res = await checkout(env, buyer)
  t.equal(res.statusCode, 201)
  const orderId = res.json().orders[0].id
  await t.rejects(env.app.db.updateTable('orders').set({ shippingAmount: 100 }).where('id', '=', orderId).execute(), /orders_total_is_its_parts/, 'a shipping line the total does not hold')
  await t.rejects(env.app.db.updateTable('orders').set({ discountAmount: 10, platformFundedDiscount: 20 }).where('id', '=', orderId).execute(), /check constraint/, 'more platform funding than discount')
  await t.rejects(sql`update order_items set discount_amount = line_amount + 1 where order_id = ${orderId}`.execute(env.app.db), /check constraint/, 'an item discounted beyond its price')
  // Inclusive tax is inside the subtotal: the same total holds it.
  await env.app.db.updateTable('orders').set({ taxAmount: 417, taxInclusive: true, taxRateBps: 2000 }).where('id', '=', orderId).execute()
  const row = await env.app.db.selectFrom('orders').select(['totalAmount', 'subtotalAmount']).where('id', '=', orderId).executeTakeFirstOrThrow()
  t.same(row, { totalAmount: 2500, subtotalAmount: 2500 }, 'inclusive tax changes no total')
})

t.test('a cart with nothing to pay is refused with 409 NOTHING_TO_PAY, and nothing changes', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const store = await approvedStore(env)
  const free = await createProduct(env, store, { price: 0, variants: [{ stock: 5 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, free.variants[0].id, 2)
  const intentsBefore = stripe.intents.size
  const res = await checkout(env, buyer)
  t.equal(res.statusCode, 409)
  t.equal(res.json().code, 'NOTHING_TO_PAY')
  t.same(await env.app.db.selectFrom('orders').select('id').execute(), [], 'no order')
  t.same(await env.app.db.selectFrom('checkouts').select('id').execute(), [], 'no checkout')
  t.same((await env.app.db.selectFrom('cartItems').select('quantity').where('userId', '=', buyer.id).execute()).map((r) => r.quantity), [2], 'the cart as it was')
  const stock = await env.app.db.selectFrom('productVariants').select('stock').where('id', '=', free.variants[0].id).executeTakeFirstOrThrow()
  t.equal(stock.stock, 5, 'no stock taken')
  t.equal(stripe.intents.size, intentsBefore, 'no payment intent')
})

t.test('orders show their totals to everyone; the workspace also sees its commission and net, the customer never does', async (t) => {
  const { env, a, b, buyer, body } = await twoStoreCheckout(t)
  const usd = (amount: number) => ({ amount, currency: 'usd' })
  const totalsOf = (amount: number) => ({ subtotal: usd(amount), discount: usd(0), shipping: usd(0), tax: usd(0), taxInclusive: false, total: usd(amount) })
  t.same(body.totals, totalsOf(9399), 'the checkout\'s totals')

  const orderA = body.orders.find((o: any) => o.workspaceId === a.workspaceId)
  t.same(orderA.totals, totalsOf(5400), 'an order\'s totals')
  t.equal(orderA.promotionCode, null)
  t.equal(orderA.shippingMethod, null, 'no shipping rates: no method')
  t.same(orderA.items.map((i: any) => [i.lineTotal, i.discount, i.tax]), [[usd(5400), usd(0), usd(0)]], 'each item: its discount and tax')
  t.notOk('commission' in orderA || 'net' in orderA, 'the customer is not shown the commission')

  const mine = await env.app.inject({ method: 'GET', url: `/orders/${orderA.id}`, headers: buyer.session.headers })
  t.equal(mine.body, JSON.stringify(orderA), 'the checkout answer is byte for byte GET /orders/:id')
  t.notOk('commission' in mine.json())

  const vendorView = { commission: usd(540), commissionBps: 1000, platformFundedDiscount: usd(0), net: usd(4860) }
  const one = await env.app.inject({ method: 'GET', url: `/workspaces/${a.workspaceId}/orders/${orderA.id}`, headers: a.owner.headers })
  t.equal(one.statusCode, 200)
  t.same(one.json(), { ...orderA, ...vendorView }, 'the workspace sees the order, its commission and what it nets')
  const list = await env.app.inject({ method: 'GET', url: `/workspaces/${a.workspaceId}/orders`, headers: a.owner.headers })
  t.same(list.json().items, [{ ...orderA, ...vendorView }], 'so does its list')
  const orderB = body.orders.find((o: any) => o.workspaceId === b.workspaceId)
  const cancelled = await env.app.inject({ method: 'PATCH', url: `/workspaces/${b.workspaceId}/orders/${orderB.id}/status`, headers: b.owner.headers, payload: { status: 'cancelled' } })
  t.equal(cancelled.statusCode, 200, cancelled.body)
  t.same([cancelled.json().status, cancelled.json().commission, cancelled.json().net], ['cancelled', usd(400), usd(3599)], 'a status change answers the workspace\'s view (3999 − 400)')
  const read = await env.app.inject({ method: 'GET', url: `/orders/${orderB.id}`, headers: buyer.session.headers })
  t.same(read.json().totals, totalsOf(3999), 'a cancelled order keeps the totals it was placed with')
})

t.test('a checkout finished under its key after a failed intent answers the totals it froze', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const store = await approvedStore(env)
  const tee = await createProduct(env, store, { price: 2500, variants: [{ stock: 5 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, tee.variants[0].id, 2)
  stripe.unavailable = (method, path) => method === 'POST' && path === '/v1/payment_intents'
  t.equal((await checkout(env, buyer, 'totals-key')).statusCode, 502, 'the intent could not be created')
  stripe.unavailable = null
  const retry = await checkout(env, buyer, 'totals-key')
  t.equal(retry.statusCode, 201, retry.body)
  const usd = (amount: number) => ({ amount, currency: 'usd' })
  t.same(retry.json().totals, { subtotal: usd(5000), discount: usd(0), shipping: usd(0), tax: usd(0), taxInclusive: false, total: usd(5000) }, 'read back from the checkout')
  t.same(retry.json().orders[0].totals, retry.json().totals, 'its one order holds the same')
  t.equal(stripe.intents.get(retry.json().payment.paymentIntentId)?.amount, 5000)
})
