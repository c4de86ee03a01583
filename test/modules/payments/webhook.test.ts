import t from 'tap'
import { eventually } from '../../helpers/app.ts'
import { deliver, intentEvent, ordersOf, outboxCount, payAndNotify, paymentEnv, placedCheckout } from '../../helpers/payments.ts'

t.test('unsigned, wrongly signed, tampered and stale webhooks get 400 and change nothing', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const placed = await placedCheckout(env)
  const event = stripe.pay(placed.intentId)

  const unsigned = await deliver(env, { payload: JSON.stringify(event) })
  t.equal(unsigned.statusCode, 400)
  t.equal(unsigned.json().code, 'INVALID_SIGNATURE')

  const otherSecret = stripe.signedEvent(event, { secret: 'whsec_not_ours' })
  t.equal((await deliver(env, otherSecret)).statusCode, 400, 'signed with another secret')

  const signed = stripe.signedEvent(event)
  const tampered = signed.payload.replace(placed.intentId, 'pi_someone_else')
  t.not(tampered, signed.payload)
  t.equal((await deliver(env, { payload: tampered, signature: signed.signature })).statusCode, 400, 'body changed after signing')

  const stale = stripe.signedEvent(event, { timestamp: Math.floor(Date.now() / 1000) - 301 })
  const staleRes = await deliver(env, stale)
  t.equal(staleRes.statusCode, 400, 'older than the five-minute tolerance')
  t.match(staleRes.json().detail, /tolerance|timestamp/i)

  const garbage = await deliver(env, { payload: '{not json', signature: 't=1,v1=abc' })
  t.equal(garbage.statusCode, 400)

  t.same((await ordersOf(env, placed.checkoutId)).map((o) => [o.status, o.paymentStatus]), [['pending', 'unpaid'], ['pending', 'unpaid']], 'orders untouched')
  t.equal((await env.app.db.selectFrom('paymentEvents').select('id').execute()).length, 0, 'no event recorded')
  t.equal(await outboxCount(env, 'payment-confirmed'), 0)

  const fresh = stripe.signedEvent(event, { timestamp: Math.floor(Date.now() / 1000) - 200 })
  t.equal((await deliver(env, fresh)).statusCode, 200, 'within the tolerance it is accepted')
})

t.test('a signed payment_intent.succeeded confirms and pays every order of the checkout, one email each', async (t) => {
  const { env, stripe } = await paymentEnv(t, { smtp: true, worker: true })
  const placed = await placedCheckout(env)
  const res = await deliver(env, stripe.signedEvent(stripe.pay(placed.intentId)))
  t.equal(res.statusCode, 200)
  t.same(res.json(), { received: true, duplicate: false })

  const orders = await ordersOf(env, placed.checkoutId)
  t.same(orders.map((o) => [o.status, o.paymentStatus]), [['confirmed', 'paid'], ['confirmed', 'paid']])
  const view = (await env.app.inject({ method: 'GET', url: `/orders/${orders[0]!.id}`, headers: placed.buyer.session.headers })).json()
  t.match(view.history[1], { from: 'pending', to: 'confirmed', actor: 'payment' })
  t.ok(view.paidAt)

  const owners = await env.app.db.selectFrom('users').select('email').where('id', 'in', placed.stores.map((s) => s.ownerId)).execute()
  await eventually(() => env.smtp!.messages.filter((m) => /^Payment received/.test(m.subject)).length === 2 && env.smtp!.messages.filter((m) => /^New paid order/.test(m.subject)).length === 2)
  const paidMails = env.smtp!.messages.filter((m) => /^Payment received/.test(m.subject))
  t.ok(paidMails.every((m) => m.to.includes(placed.buyer.email)), 'the customer gets a payment email per order')
  const ownerMails = env.smtp!.messages.filter((m) => /^New paid order/.test(m.subject))
  t.same(ownerMails.flatMap((m) => m.to).sort(), owners.map((o) => o.email).sort(), 'each store owner hears of their new paid order')
  t.ok(ownerMails.every((m) => m.text.includes('/workspaces/') && m.html.includes('/workspaces/')), 'with a link in both parts')
})

t.test('the same event ten times at once: one transition, one email', async (t) => {
  const { env, stripe } = await paymentEnv(t, { smtp: true, worker: true })
  const placed = await placedCheckout(env)
  const paid = stripe.pay(placed.intentId)
  const signed = stripe.signedEvent({ ...paid, id: 'evt_same_one' })
  const results = await Promise.all(Array.from({ length: 10 }, () => deliver(env, signed)))
  t.ok(results.every((r) => r.statusCode === 200), 'every copy is acknowledged (Stripe must not retry)')
  t.equal(results.filter((r) => r.json().duplicate === false).length, 1, 'one copy was processed')

  const history = await env.app.db.selectFrom('orderHistory').select(['orderId', 'toStatus']).where('toStatus', '=', 'confirmed').execute()
  t.equal(history.length, 2, 'one confirmation per order')
  t.equal(await outboxCount(env, 'payment-confirmed'), 2, 'one payment email per order')
  t.equal(await outboxCount(env, 'new-paid-order'), 2)
  await eventually(() => env.smtp!.messages.filter((m) => /^Payment received/.test(m.subject)).length === 2)
  // Give the relay and worker a moment to send anything extra, then count again.
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.equal(env.smtp!.messages.filter((m) => /^Payment received/.test(m.subject)).length, 2, 'no duplicate email')

  // A different event for the same intent (Stripe can send one twice under two ids) is harmless too.
  const again = await deliver(env, stripe.signedEvent({ ...paid, id: 'evt_same_two' }))
  t.same(again.json(), { received: true, duplicate: false })
  t.equal(await outboxCount(env, 'payment-confirmed'), 2, 'an already paid order is not confirmed again')
})

t.test('payment_failed after succeeded changes nothing; before it, marks the orders failed; success still wins', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const paidFirst = await placedCheckout(env)
  await payAndNotify(env, stripe, paidFirst.intentId)
  const late = await deliver(env, stripe.signedEvent(intentEvent('payment_intent.payment_failed', paidFirst.intentId)))
  t.equal(late.statusCode, 200)
  t.same((await ordersOf(env, paidFirst.checkoutId)).map((o) => [o.status, o.paymentStatus]), [['confirmed', 'paid'], ['confirmed', 'paid']], 'a late failure never overwrites paid')

  const failedFirst = await placedCheckout(env)
  await deliver(env, stripe.signedEvent(stripe.failPayment(failedFirst.intentId)))
  t.same((await ordersOf(env, failedFirst.checkoutId)).map((o) => [o.status, o.paymentStatus]), [['pending', 'failed'], ['pending', 'failed']], 'a failure marks them failed')
  await payAndNotify(env, stripe, failedFirst.intentId)
  t.same((await ordersOf(env, failedFirst.checkoutId)).map((o) => [o.status, o.paymentStatus]), [['confirmed', 'paid'], ['confirmed', 'paid']], 'a retry that succeeds confirms them')

  const unknown = await deliver(env, stripe.signedEvent(intentEvent('payment_intent.succeeded', 'pi_not_ours')))
  t.equal(unknown.statusCode, 200, 'an event for an intent that is not ours is acknowledged and ignored')
})

t.test('charge.refunded applies the provider\'s refunds, partial or whole', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const placed = await placedCheckout(env)
  await payAndNotify(env, stripe, placed.intentId)
  const total = (await ordersOf(env, placed.checkoutId)).reduce((sum, o) => sum + o.totalAmount, 0)
  await deliver(env, stripe.signedEvent(stripe.refundAtProvider(placed.intentId, total - 1)))
  let orders = await ordersOf(env, placed.checkoutId)
  t.equal(orders.reduce((sum, o) => sum + o.refundedAmount, 0), total - 1, 'a partial refund at the provider is spread over the orders')
  t.same(orders.map((o) => o.paymentStatus).sort(), ['partially_refunded', 'refunded'])
  await deliver(env, stripe.signedEvent(stripe.refundAtProvider(placed.intentId)))
  orders = await ordersOf(env, placed.checkoutId)
  t.same(orders.map((o) => o.paymentStatus), ['refunded', 'refunded'])
  t.ok(orders.every((o) => o.refundedAmount === o.totalAmount))
})
