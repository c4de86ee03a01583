import t from 'tap'
import { ManualClock } from '../../../src/platform/clock.ts'
import { eventually } from '../../helpers/app.ts'
import { deliver, ordersOf, payAndNotify, paymentEnv, placedCheckout, stockOf } from '../../helpers/payments.ts'

// Issue 9, item 4: one checkout, one PaymentIntent, several orders. Cancelling an order before
// payment lowers the intent to what is still owed (or cancels it when nothing is); a payment
// that still arrives for a cancelled order refunds that order's share. Per checkout:
// captured − refunded = the total of the orders not cancelled.
// placedCheckout: order of store 0 is 2 × 2000 = 4000, order of store 1 is 1500; total 5500.

const byTotal = <T extends { totalAmount: number }>(orders: T[], amount: number): T => orders.find((o) => o.totalAmount === amount)!

t.test('a customer or workspace cancel before payment lowers the intent, then cancels it when nothing is owed', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const placed = await placedCheckout(env)
  const orders = await ordersOf(env, placed.checkoutId)
  t.equal(stripe.intents.get(placed.intentId)!.amount, 5500)

  const big = byTotal(orders, 4000)
  const res = await env.app.inject({ method: 'POST', url: `/orders/${big.id}/cancel`, headers: placed.buyer.session.headers, payload: {} })
  t.equal(res.statusCode, 200)
  t.equal(stripe.intents.get(placed.intentId)!.amount, 1500, 'the intent now asks only for the order still owed')
  const update = stripe.requests.find((r) => r.method === 'POST' && r.path === `/v1/payment_intents/${placed.intentId}`)
  t.ok(update?.idempotencyKey, 'the update carries an idempotency key')

  const small = byTotal(orders, 1500)
  const store1 = placed.stores[1]! // the 1500 order's store
  const ws = await env.app.inject({ method: 'PATCH', url: `/workspaces/${store1.workspaceId}/orders/${small.id}/status`, headers: store1.owner.headers, payload: { status: 'cancelled' } })
  t.equal(ws.statusCode, 200)
  t.equal(stripe.intents.get(placed.intentId)!.status, 'canceled', 'nothing is owed: the intent is cancelled, so it cannot be paid')
  t.equal(stripe.netCaptured(placed.intentId), 0)
})

t.test('a payment at the reduced amount confirms the live orders and refunds nothing', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const placed = await placedCheckout(env)
  const big = byTotal(await ordersOf(env, placed.checkoutId), 4000)
  await env.app.inject({ method: 'POST', url: `/orders/${big.id}/cancel`, headers: placed.buyer.session.headers, payload: {} })
  await payAndNotify(env, stripe, placed.intentId)
  const orders = await ordersOf(env, placed.checkoutId)
  t.match(byTotal(orders, 4000), { status: 'cancelled', paymentStatus: 'unpaid', refundedAmount: 0 })
  t.match(byTotal(orders, 1500), { status: 'confirmed', paymentStatus: 'paid' })
  t.equal(stripe.refunds.length, 0)
  t.equal(stripe.netCaptured(placed.intentId), 1500, 'captured − refunded = total of the orders not cancelled')
})

t.test('a payment captured before the cancel reached Stripe refunds the cancelled order\'s share, exactly once', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const placed = await placedCheckout(env)
  const succeeded = stripe.pay(placed.intentId) // paid at Stripe; the webhook is still on its way
  const big = byTotal(await ordersOf(env, placed.checkoutId), 4000)
  const res = await env.app.inject({ method: 'POST', url: `/orders/${big.id}/cancel`, headers: placed.buyer.session.headers, payload: {} })
  t.equal(res.statusCode, 200)
  t.equal((await deliver(env, stripe.signedEvent(succeeded))).statusCode, 200)
  t.equal((await deliver(env, stripe.signedEvent(succeeded))).statusCode, 200, 'redelivered')
  for (const event of stripe.events.filter((e) => e.type === 'charge.refunded')) await deliver(env, stripe.signedEvent(event))

  const orders = await ordersOf(env, placed.checkoutId)
  t.match(byTotal(orders, 4000), { status: 'cancelled', paymentStatus: 'refunded', refundedAmount: 4000 }, 'the cancelled order\'s share came back')
  t.match(byTotal(orders, 1500), { status: 'confirmed', paymentStatus: 'paid', refundedAmount: 0 })
  t.same(stripe.refunds.map((r) => r.amount), [4000], 'one refund, of that share')
  t.equal(stripe.netCaptured(placed.intentId), 1500)
})

t.test('a payment arriving after every order was cancelled is refunded in full', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const placed = await placedCheckout(env)
  stripe.setIntentStatus(placed.intentId, 'processing') // cannot be changed or cancelled now
  for (const order of await ordersOf(env, placed.checkoutId)) {
    const res = await env.app.inject({ method: 'POST', url: `/orders/${order.id}/cancel`, headers: placed.buyer.session.headers, payload: {} })
    t.equal(res.statusCode, 200)
  }
  await payAndNotify(env, stripe, placed.intentId)
  const orders = await ordersOf(env, placed.checkoutId)
  t.same(orders.map((o) => [o.status, o.paymentStatus, o.refundedAmount === o.totalAmount]), [['cancelled', 'refunded', true], ['cancelled', 'refunded', true]])
  t.equal(stripe.netCaptured(placed.intentId), 0)
})

t.test('the expiry job cancels what is left and the intent with it; stock comes back once', async (t) => {
  const clock = new ManualClock()
  const { env, stripe } = await paymentEnv(t, { clock, worker: true })
  const placed = await placedCheckout(env)
  const before = await stockOf(env, placed.variants)
  const big = byTotal(await ordersOf(env, placed.checkoutId), 4000)
  await env.app.inject({ method: 'POST', url: `/orders/${big.id}/cancel`, headers: placed.buyer.session.headers, payload: {} })
  t.equal(stripe.intents.get(placed.intentId)!.amount, 1500)
  clock.advance(31 * 60_000)
  const job = await env.app.queues['order-expiry'].add('expire', {})
  const result = await eventually(async () => (await job.isCompleted()) && (await env.app.queues['order-expiry'].getJob(job.id!))?.returnvalue)
  t.same(result, { confirmed: 0, cancelled: 1 })
  t.equal(stripe.intents.get(placed.intentId)!.status, 'canceled')
  t.same((await ordersOf(env, placed.checkoutId)).map((o) => o.status), ['cancelled', 'cancelled'])
  t.same(await stockOf(env, placed.variants), before.map((s, i) => s + [2, 1][i]!))
})
