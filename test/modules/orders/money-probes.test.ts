import t, { type Test } from 'tap'
import { ManualClock } from '../../../src/platform/clock.ts'
import { createPaymentGateway } from '../../../src/platform/payment-provider.ts'
import { expireUnpaidOrders, retryPendingRefunds, type OrderDeps } from '../../../src/modules/orders/public.ts'
import { createUser, login } from '../../helpers/auth.ts'
import { checkout } from '../../helpers/commerce.ts'
import { deliver, ordersOf, payAndNotify, paymentEnv, placedCheckout, stockOf, twoStoreCart } from '../../helpers/payments.ts'
import type { TestEnv } from '../../helpers/app.ts'

// Issue 9, items 4-6, probed along paths the issue does not list: retries after a provider
// outage, an intent made late, events racing each other, forged metadata, cancels racing the
// expiry job. Each ends with the money (ours and Stripe's) and the stock checked.

const depsOf = (env: TestEnv): OrderDeps => ({ ...env.app.deps, gateway: createPaymentGateway(env.app.config) })

t.test('a refund retried under its Idempotency-Key after Stripe was unreachable is made once', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const placed = await placedCheckout(env)
  await payAndNotify(env, stripe, placed.intentId)
  const order = (await ordersOf(env, placed.checkoutId)).find((o) => o.totalAmount === 4000)!
  const store = placed.stores[0]!
  const refund = (amount: number, key: string) => env.app.inject({
    method: 'POST',
    url: `/workspaces/${store.workspaceId}/orders/${order.id}/refund`,
    headers: { ...store.owner.headers, 'idempotency-key': key },
    payload: { amount }
  })
  stripe.unavailable = (method, path) => method === 'POST' && path === '/v1/refunds'
  const first = await refund(1000, 'refund-once')
  t.equal(first.statusCode, 502, 'the provider could not be reached')
  stripe.unavailable = null
  const retry = await refund(1000, 'refund-once')
  t.equal(retry.statusCode, 200, 'the retry with the same key goes through')
  t.equal((await refund(1500, 'refund-once')).statusCode, 422, 'the same key for another amount is refused')
  await retryPendingRefunds(depsOf(env), 0) // what the expiry job does with refunds left pending
  t.same(stripe.refunds.map((r) => r.amount), [1000], 'one refund at Stripe')
  t.match((await ordersOf(env, placed.checkoutId)).find((o) => o.id === order.id), { refundedAmount: 1000, paymentStatus: 'partially_refunded' })
  t.equal(stripe.netCaptured(placed.intentId), 4500)
})

async function checkoutWithoutIntent (t: Test) {
  const { env, stripe } = await paymentEnv(t)
  const { buyer } = await twoStoreCart(env)
  stripe.unavailable = (method, path) => method === 'POST' && path === '/v1/payment_intents'
  const res = await checkout(env, buyer, 'checkout-key')
  t.equal(res.statusCode, 502, 'the intent could not be created')
  stripe.unavailable = null
  const orders = await env.app.db.selectFrom('orders').select(['id', 'totalAmount', 'checkoutId']).where('userId', '=', buyer.id).orderBy('totalAmount', 'desc').execute()
  t.equal(orders.length, 2, 'the orders stand, waiting for their payment')
  const cancel = (id: string) => env.app.inject({ method: 'POST', url: `/orders/${id}/cancel`, headers: buyer.session.headers, payload: {} })
  return { env, stripe, buyer, orders, cancel, retry: () => checkout(env, buyer, 'checkout-key') }
}

t.test('an intent created on a retry after an order was cancelled asks only for what is still owed', async (t) => {
  const s = await checkoutWithoutIntent(t)
  t.equal((await s.cancel(s.orders[0]!.id)).statusCode, 200)
  const res = await s.retry()
  t.equal(res.statusCode, 201)
  const intents = [...s.stripe.intents.values()]
  t.same(intents.map((i) => i.amount), [1500], 'one intent, for the order not cancelled')
  await payAndNotify(s.env, s.stripe, intents[0]!.id)
  t.same((await ordersOf(s.env, s.orders[0]!.checkoutId)).map((o) => [o.totalAmount, o.status, o.paymentStatus]).sort(), [[1500, 'confirmed', 'paid'], [4000, 'cancelled', 'unpaid']])
  t.equal(s.stripe.refunds.length, 0, 'nothing charged that had to be refunded')
})

t.test('a retry after every order was cancelled creates no intent at all', async (t) => {
  const s = await checkoutWithoutIntent(t)
  for (const o of s.orders) t.equal((await s.cancel(o.id)).statusCode, 200)
  const res = await s.retry()
  t.equal(res.statusCode, 201)
  t.equal(res.json().payment.status, 'canceled', 'nothing to pay')
  t.equal(s.stripe.intents.size, 0, 'no intent at Stripe')
})

t.test('payment_failed and succeeded racing, each delivered several times at once: the success stands', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  for (let round = 0; round < 3; round++) {
    const placed = await placedCheckout(env)
    const failed = stripe.failPayment(placed.intentId)
    const succeeded = stripe.pay(placed.intentId)
    const copies = [failed, succeeded, failed, succeeded, failed, succeeded].map((e) => stripe.signedEvent(e))
    if (round === 1) copies.reverse()
    const results = await Promise.all(copies.map((c) => deliver(env, c)))
    t.same(results.map((r) => r.statusCode), [200, 200, 200, 200, 200, 200], `round ${round}: every delivery acknowledged`)
    t.same((await ordersOf(env, placed.checkoutId)).map((o) => [o.status, o.paymentStatus]), [['confirmed', 'paid'], ['confirmed', 'paid']], `round ${round}`)
  }
})

t.test('ten parallel deliveries of a payment that covered a cancelled order refund its share once', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const placed = await placedCheckout(env)
  const succeeded = stripe.pay(placed.intentId)
  const big = (await ordersOf(env, placed.checkoutId)).find((o) => o.totalAmount === 4000)!
  t.equal((await env.app.inject({ method: 'POST', url: `/orders/${big.id}/cancel`, headers: placed.buyer.session.headers, payload: {} })).statusCode, 200)
  stripe.latencyMs = 20
  const results = await Promise.all(Array.from({ length: 10 }, () => deliver(env, stripe.signedEvent(succeeded))))
  t.ok(results.every((r) => r.statusCode === 200), 'all acknowledged')
  t.same(stripe.refunds.map((r) => r.amount), [4000])
  t.equal(stripe.netCaptured(placed.intentId), 1500)
  t.same((await ordersOf(env, placed.checkoutId)).map((o) => [o.totalAmount, o.status, o.paymentStatus, o.refundedAmount]).sort(), [[1500, 'confirmed', 'paid', 0], [4000, 'cancelled', 'refunded', 4000]])
})

t.test('a refund racing the charge.refunded webhook it causes is counted once', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const placed = await placedCheckout(env)
  await payAndNotify(env, stripe, placed.intentId)
  const order = (await ordersOf(env, placed.checkoutId)).find((o) => o.totalAmount === 4000)!
  const store = placed.stores[0]!
  stripe.latencyMs = 30
  const seen = stripe.events.length
  const refunding = env.app.inject({ method: 'POST', url: `/workspaces/${store.workspaceId}/orders/${order.id}/refund`, headers: { ...store.owner.headers, 'idempotency-key': 'race-webhook' }, payload: { amount: 1200 } })
  let delivered = 0
  const deliveries: Array<Promise<unknown>> = []
  for (let i = 0; i < 200 && delivered === 0; i++) {
    const event = stripe.events.slice(seen).find((e) => e.type === 'charge.refunded')
    if (event) { delivered++; deliveries.push(deliver(env, stripe.signedEvent(event)), deliver(env, stripe.signedEvent(event))) } else await new Promise((resolve) => setTimeout(resolve, 5))
  }
  t.equal((await refunding).statusCode, 200)
  await Promise.all(deliveries)
  t.equal(delivered, 1, 'the webhook was delivered while the refund was in flight')
  t.match((await ordersOf(env, placed.checkoutId)).find((o) => o.id === order.id), { refundedAmount: 1200, paymentStatus: 'partially_refunded' })
  t.equal((await env.app.db.selectFrom('refunds').select('id').execute()).length, 1, 'one refund row')
  t.equal(stripe.netCaptured(placed.intentId), 4300)
})

t.test('a succeeded event whose metadata names another checkout pays only the intent\'s own checkout', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const a = await placedCheckout(env)
  const b = await placedCheckout(env)
  const real = stripe.pay(a.intentId)
  const forged = structuredClone(real)
  forged.id = `${real.id}_forged`;
  (forged.data.object as { metadata: Record<string, string> }).metadata = { checkoutId: b.checkoutId, userId: b.buyer.id }
  t.equal((await deliver(env, stripe.signedEvent(forged))).statusCode, 200)
  t.same((await ordersOf(env, b.checkoutId)).map((o) => [o.status, o.paymentStatus]), [['pending', 'unpaid'], ['pending', 'unpaid']], 'the other checkout is untouched')
  t.same((await ordersOf(env, a.checkoutId)).map((o) => o.status), ['confirmed', 'confirmed'], 'the intent\'s checkout is paid')
  const upper = structuredClone(real)
  upper.id = `${real.id}_upper`;
  (upper.data.object as { currency: string }).currency = 'USD'
  t.equal((await deliver(env, stripe.signedEvent(upper))).statusCode, 200)
  t.equal((await env.app.db.selectFrom('paymentReviews').select('id').execute()).length, 0, '"USD" is the checkout\'s currency; the payment applied once')
})

t.test('a cancel racing the expiry job returns the stock exactly once', async (t) => {
  const clock = new ManualClock()
  const { env, stripe } = await paymentEnv(t, { clock })
  stripe.latencyMs = 10
  let lost = 0
  for (let round = 0; round < 4; round++) {
    const placed = await placedCheckout(env)
    const before = await stockOf(env, placed.variants)
    clock.advance(31 * 60_000)
    const buyer = await login(env.app, placed.buyer.email)
    const orders = await ordersOf(env, placed.checkoutId)
    // Later and later cancels: before the job asks Stripe, while it does, while it cancels.
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
    const cancels = orders.map((o) => async () => { await wait(round * 15); return env.app.inject({ method: 'POST', url: `/orders/${o.id}/cancel`, headers: buyer.headers, payload: {} }) })
    const ops = [() => expireUnpaidOrders(depsOf(env)), ...cancels]
    if (round === 1) ops.reverse()
    const results = await Promise.all(ops.map((op) => op()))
    for (const r of results) if (r && 'statusCode' in r) { t.ok([200, 409].includes(r.statusCode), `round ${round}: cancel answered ${r.statusCode}`); if (r.statusCode === 409) lost++ }
    t.same((await ordersOf(env, placed.checkoutId)).map((o) => o.status), ['cancelled', 'cancelled'], `round ${round}`)
    t.same(await stockOf(env, placed.variants), before.map((s, i) => s + [2, 1][i]!), `round ${round}: stock back once`)
    const history = await env.app.db.selectFrom('orderHistory').select('orderId').where('toStatus', '=', 'cancelled').where('orderId', 'in', orders.map((o) => o.id)).execute()
    t.equal(history.length, 2, `round ${round}: one cancellation each`)
    t.equal(stripe.intents.get(placed.intentId)!.status, 'canceled', `round ${round}: nothing can be paid any more`)
  }
  t.comment(`${lost} cancels found the job had cancelled first`)
})

t.test('a webhook that must read Stripe while it is unreachable answers 502, records nothing, and applies on redelivery', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const placed = await placedCheckout(env)
  stripe.pay(placed.intentId)
  const refunded = stripe.refundAtProvider(placed.intentId, 700)
  stripe.unavailable = () => true
  const res = await deliver(env, stripe.signedEvent(refunded))
  t.equal(res.statusCode, 502, 'a provider outage, not an internal error')
  t.equal(res.json().code, 'PAYMENT_PROVIDER_ERROR')
  t.same((await ordersOf(env, placed.checkoutId)).map((o) => o.paymentStatus), ['unpaid', 'unpaid'], 'nothing applied')
  stripe.unavailable = null
  t.equal((await deliver(env, stripe.signedEvent(refunded))).statusCode, 200, 'Stripe delivers it again')
  const orders = await ordersOf(env, placed.checkoutId)
  t.same(orders.map((o) => o.status), ['confirmed', 'confirmed'])
  t.equal(orders.reduce((s, o) => s + o.refundedAmount, 0), 700)
})

t.test('a dashboard refund made while our refunds of cancelled orders are in flight is not counted twice', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const placed = await placedCheckout(env)
  const succeeded = stripe.pay(placed.intentId) // paid at Stripe; the webhook is late
  stripe.unavailable = (method, path) => method === 'POST' && path === '/v1/refunds'
  for (const o of await ordersOf(env, placed.checkoutId)) {
    t.equal((await env.app.inject({ method: 'POST', url: `/orders/${o.id}/cancel`, headers: placed.buyer.session.headers, payload: {} })).statusCode, 200)
  }
  t.same((await env.app.db.selectFrom('refunds').select(['amount', 'status']).orderBy('amount').execute()).map((r) => [r.amount, r.status]), [[1500, 'pending'], [4000, 'pending']], 'both shares are owed back, in flight')
  const dashboard = stripe.refundAtProvider(placed.intentId, 1000) // someone refunds 1000 in Stripe's dashboard meanwhile
  const answers = [await deliver(env, stripe.signedEvent(succeeded)), await deliver(env, stripe.signedEvent(dashboard))]
  stripe.unavailable = null
  await retryPendingRefunds(depsOf(env), 0)
  for (const event of stripe.events.filter((e) => e.type === 'charge.refunded')) answers.push(await deliver(env, stripe.signedEvent(event)))
  await retryPendingRefunds(depsOf(env), 0)
  t.same(answers.map((r) => r.statusCode), answers.map(() => 200), 'every webhook acknowledged')
  t.equal(stripe.netCaptured(placed.intentId), 0, 'the customer has every cent back')
  const orders = await ordersOf(env, placed.checkoutId)
  t.same(orders.map((o) => [o.status, o.paymentStatus, o.refundedAmount === o.totalAmount]), [['cancelled', 'refunded', true], ['cancelled', 'refunded', true]])
  t.same(await env.app.db.selectFrom('refunds').select('id').where('status', '=', 'pending').execute(), [], 'nothing left in flight')
  const rows = await env.app.db.selectFrom('refunds').select(['orderId', 'amount']).where('status', '=', 'succeeded').execute()
  for (const o of orders) t.equal(rows.filter((r) => r.orderId === o.id).reduce((s, r) => s + r.amount, 0), o.refundedAmount, 'each order\'s refund rows add up to what it shows')
})

t.test('a member (orders:manage only) cancelling while the payment webhook lands: refused once paid, refunded by the payment if first', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  stripe.latencyMs = 15
  for (let round = 0; round < 4; round++) {
    const placed = await placedCheckout(env)
    const store = placed.stores[0]!
    const user = await createUser(env, { type: 'vendor' })
    await env.app.db.insertInto('workspaceMembers').values({ workspaceId: store.workspaceId, userId: user.id, role: 'member' }).execute()
    const member = await login(env.app, user.email)
    const order = (await ordersOf(env, placed.checkoutId)).find((o) => o.totalAmount === 4000)!
    const succeeded = stripe.signedEvent(stripe.pay(placed.intentId))
    const ops = [
      () => env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}/orders/${order.id}/status`, headers: member.headers, payload: { status: 'cancelled' } }),
      () => deliver(env, succeeded)
    ]
    if (round % 2 === 1) ops.reverse()
    const [a, b] = await Promise.all(ops.map((op) => op()))
    const cancel = round % 2 === 1 ? b! : a!
    t.equal((round % 2 === 1 ? a! : b!).statusCode, 200, `round ${round}: webhook acknowledged`)
    const row = (await ordersOf(env, placed.checkoutId)).find((o) => o.id === order.id)!
    if (cancel.statusCode === 200) {
      t.match(row, { status: 'cancelled', paymentStatus: 'refunded', refundedAmount: 4000 }, `round ${round}: cancelled before the payment: its share came back`)
    } else {
      t.equal(cancel.statusCode, 403, `round ${round}: paid first: a member may not cancel (refund) it`)
      t.match(row, { status: 'confirmed', paymentStatus: 'paid', refundedAmount: 0 }, `round ${round}: untouched`)
    }
    const live = (await ordersOf(env, placed.checkoutId)).filter((o) => o.status !== 'cancelled')
    t.equal(stripe.netCaptured(placed.intentId), live.reduce((s, o) => s + o.totalAmount - o.refundedAmount, 0), `round ${round}: captured − refunded = what the orders kept hold`)
  }
})
