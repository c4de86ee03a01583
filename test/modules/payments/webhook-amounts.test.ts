import t from 'tap'
import { deliver, intentEvent, ordersOf, outboxCount, payAndNotify, paymentEnv, placedCheckout } from '../../helpers/payments.ts'

// Issue 9, item 5: the webhook confirms only a payment of what the checkout owes, in its
// currency; anything else is kept for review. Refund events are applied whatever their order
// relative to the payment, partial ones included, each exactly once.

t.test('a payment of the wrong amount or currency confirms nothing and is kept for review, once', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const cases = [
    { label: 'one cent short', fields: { amount: 5499, amount_received: 5499, currency: 'usd' }, reason: 'amount_mismatch' },
    { label: 'more than the checkout', fields: { amount: 9999, amount_received: 9999, currency: 'usd' }, reason: 'amount_mismatch' },
    { label: 'another currency', fields: { amount: 5500, amount_received: 5500, currency: 'eur' }, reason: 'currency_mismatch' },
    { label: 'no amount at all', fields: { currency: 'usd' }, reason: 'amount_mismatch' }
  ]
  for (const c of cases) {
    const placed = await placedCheckout(env)
    const event = intentEvent('payment_intent.succeeded', placed.intentId, undefined, c.fields)
    const res = await deliver(env, stripe.signedEvent(event))
    t.equal(res.statusCode, 200, `${c.label}: acknowledged (Stripe must not retry it forever)`)
    t.equal((await deliver(env, stripe.signedEvent(event))).statusCode, 200, `${c.label}: redelivered`)
    t.same((await ordersOf(env, placed.checkoutId)).map((o) => [o.status, o.paymentStatus]), [['pending', 'unpaid'], ['pending', 'unpaid']], `${c.label}: nothing confirmed`)
    const reviews = await env.app.db.selectFrom('paymentReviews').selectAll().where('checkoutId', '=', placed.checkoutId).execute()
    t.equal(reviews.length, 1, `${c.label}: one review row`)
    t.match(reviews[0], { reason: c.reason, paymentIntentId: placed.intentId, expectedAmount: 5500, expectedCurrency: 'usd', eventId: event.id })
  }
  t.equal(await outboxCount(env, 'payment-confirmed'), 0)
})

t.test('the amount is checked against what is owed after a cancel, not the original total', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const placed = await placedCheckout(env)
  const orders = await ordersOf(env, placed.checkoutId)
  const small = orders.find((o) => o.totalAmount === 1500)!
  await env.app.inject({ method: 'POST', url: `/orders/${small.id}/cancel`, headers: placed.buyer.session.headers, payload: {} })
  const short = intentEvent('payment_intent.succeeded', placed.intentId, undefined, { amount: 3999, amount_received: 3999, currency: 'usd' })
  await deliver(env, stripe.signedEvent(short))
  t.same((await ordersOf(env, placed.checkoutId)).map((o) => o.paymentStatus), ['unpaid', 'unpaid'])
  t.equal((await env.app.db.selectFrom('paymentReviews').select('reason').execute()).length, 1)
  await payAndNotify(env, stripe, placed.intentId) // the real one: 4000
  t.same((await ordersOf(env, placed.checkoutId)).map((o) => o.totalAmount === 4000 ? o.status : o.paymentStatus).sort(), ['confirmed', 'unpaid'])
})

t.test('charge.refunded before payment_intent.succeeded: the payment is read back from Stripe, both apply once', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const placed = await placedCheckout(env)
  const paid = stripe.pay(placed.intentId)
  const refunded = stripe.refundAtProvider(placed.intentId, 1000)
  t.equal((await deliver(env, stripe.signedEvent(refunded))).statusCode, 200)
  let orders = await ordersOf(env, placed.checkoutId)
  t.same(orders.map((o) => o.status), ['confirmed', 'confirmed'], 'the payment Stripe reports was applied')
  t.equal(orders.reduce((s, o) => s + o.refundedAmount, 0), 1000, 'and the provider-side refund')
  await deliver(env, stripe.signedEvent(paid))
  await deliver(env, stripe.signedEvent(refunded))
  orders = await ordersOf(env, placed.checkoutId)
  t.equal(orders.reduce((s, o) => s + o.refundedAmount, 0), 1000, 'late and repeated events change nothing')
  t.equal(await outboxCount(env, 'payment-confirmed'), 2, 'one confirmation per order')
  t.same(orders.map((o) => o.paymentStatus).sort(), ['paid', 'partially_refunded'])
})

t.test('partial provider-side refunds add up, in any order, and our own refunds are not counted twice', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const placed = await placedCheckout(env)
  await payAndNotify(env, stripe, placed.intentId)
  const first = stripe.refundAtProvider(placed.intentId, 500)
  const second = stripe.refundAtProvider(placed.intentId, 2000)
  await deliver(env, stripe.signedEvent(second)) // newest first
  await deliver(env, stripe.signedEvent(first))
  await deliver(env, stripe.signedEvent(second))
  let orders = await ordersOf(env, placed.checkoutId)
  t.equal(orders.reduce((s, o) => s + o.refundedAmount, 0), 2500)
  t.ok(orders.every((o) => o.refundedAmount <= o.totalAmount))
  t.ok(orders.every((o) => o.paymentStatus === (o.refundedAmount === 0 ? 'paid' : o.refundedAmount === o.totalAmount ? 'refunded' : 'partially_refunded')))
  const rows = await env.app.db.selectFrom('refunds').select(['amount', 'status', 'providerRefundId']).execute()
  t.equal(rows.reduce((s, r) => s + r.amount, 0), 2500)
  t.ok(rows.every((r) => r.status === 'succeeded' && r.providerRefundId), 'recorded with the provider\'s refund ids')

  // A workspace refund makes Stripe send charge.refunded too: it must not count twice.
  const store = placed.stores[1]!
  const order = orders.find((o) => o.totalAmount === 1500)!
  const left = order.totalAmount - order.refundedAmount
  if (left > 0) {
    const res = await env.app.inject({ method: 'POST', url: `/workspaces/${store.workspaceId}/orders/${order.id}/refund`, headers: { ...store.owner.headers, 'idempotency-key': 'r1' }, payload: { amount: left } })
    t.equal(res.statusCode, 200)
  }
  for (const event of stripe.events.filter((e) => e.type === 'charge.refunded')) await deliver(env, stripe.signedEvent(event))
  orders = await ordersOf(env, placed.checkoutId)
  t.equal(orders.reduce((s, o) => s + o.refundedAmount, 0), 5500 - stripe.netCaptured(placed.intentId), 'our books match Stripe\'s')

  // The rest refunded at the provider: every order is refunded.
  const rest = stripe.refundAtProvider(placed.intentId)
  await deliver(env, stripe.signedEvent(rest))
  orders = await ordersOf(env, placed.checkoutId)
  t.same(orders.map((o) => [o.paymentStatus, o.refundedAmount === o.totalAmount]), [['refunded', true], ['refunded', true]])
  t.same(orders.map((o) => o.status), ['confirmed', 'confirmed'], 'a provider refund does not cancel the order')
})

t.test('a payment that is not exactly what is owed is checked with Stripe, whose numbers win', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const placed = await placedCheckout(env)
  const small = (await ordersOf(env, placed.checkoutId)).find((o) => o.totalAmount === 1500)!
  await env.app.inject({ method: 'POST', url: `/orders/${small.id}/cancel`, headers: placed.buyer.session.headers, payload: {} })
  t.equal(stripe.intents.get(placed.intentId)!.amount, 4000)

  const claim = intentEvent('payment_intent.succeeded', placed.intentId, undefined, { amount: 5500, amount_received: 5500, currency: 'usd' })
  t.equal((await deliver(env, stripe.signedEvent(claim))).statusCode, 200)
  t.same((await ordersOf(env, placed.checkoutId)).map((o) => o.paymentStatus), ['unpaid', 'unpaid'], 'Stripe has no such payment: nothing confirmed')
  t.match(await env.app.db.selectFrom('paymentReviews').select(['reason', 'receivedAmount']).execute(), [{ reason: 'not_paid_at_provider', receivedAmount: 5500 }])
  t.equal(stripe.refunds.length, 0, 'and nothing refunded')

  const paid = stripe.pay(placed.intentId) // 4000, what is owed
  const overstated = { ...paid, id: 'evt_overstated', data: { object: { ...paid.data.object, amount_received: 5500 } } }
  t.equal((await deliver(env, stripe.signedEvent(overstated))).statusCode, 200)
  const orders = await ordersOf(env, placed.checkoutId)
  t.match(orders.find((o) => o.totalAmount === 4000), { status: 'confirmed', paymentStatus: 'paid' }, 'the payment Stripe holds is applied')
  t.match(orders.find((o) => o.totalAmount === 1500), { status: 'cancelled', paymentStatus: 'unpaid', refundedAmount: 0 })
  t.equal(stripe.refunds.length, 0, 'no refund for money Stripe never took')
  t.equal((await env.app.db.selectFrom('checkouts').select('amountReceived').where('id', '=', placed.checkoutId).executeTakeFirstOrThrow()).amountReceived, 4000)
})
