import t from 'tap'
import { ManualClock } from '../../../src/platform/clock.ts'
import { eventually } from '../../helpers/app.ts'
import { ordersOf, outboxCount, payAndNotify, paymentEnv, placedCheckout, stockOf } from '../../helpers/payments.ts'

// The order-expiry job, run by the worker: after 30 minutes without a payment webhook it asks
// Stripe (here its double) for the intent's real status before cancelling anything.

t.test('reconciliation: the expiry job confirms a payment whose webhook was lost and cancels the unpaid, returning stock', async (t) => {
  const clock = new ManualClock()
  const { env, stripe } = await paymentEnv(t, { clock, worker: true })
  const lostWebhook = await placedCheckout(env)
  const unpaid = await placedCheckout(env)
  const processing = await placedCheckout(env)
  const paidInTime = await placedCheckout(env)
  const unpaidStockBefore = await stockOf(env, unpaid.variants)
  await payAndNotify(env, stripe, paidInTime.intentId)
  clock.advance(20 * 60_000)
  const recent = await placedCheckout(env)

  stripe.pay(lostWebhook.intentId) // its webhook never arrives
  stripe.setIntentStatus(processing.intentId, 'processing')

  const runJob = async () => {
    const job = await env.app.queues['order-expiry'].add('expire', {})
    return eventually(async () => (await job.isCompleted()) && (await env.app.queues['order-expiry'].getJob(job.id!))?.returnvalue)
  }

  const early = await runJob()
  t.same(early, { confirmed: 0, cancelled: 0 }, 'twenty minutes in, nothing is due')
  t.same((await ordersOf(env, unpaid.checkoutId)).map((o) => o.status), ['pending', 'pending'])

  clock.advance(11 * 60_000) // 31 minutes after the first checkouts
  const result = await runJob()
  t.same(result, { confirmed: 2, cancelled: 2 })

  const confirmed = await ordersOf(env, lostWebhook.checkoutId)
  t.same(confirmed.map((o) => [o.status, o.paymentStatus]), [['confirmed', 'paid'], ['confirmed', 'paid']], 'the lost webhook\'s payment confirmed its orders')
  const history = await env.app.db.selectFrom('orderHistory').select(['actor', 'reason']).where('orderId', '=', confirmed[0]!.id).where('toStatus', '=', 'confirmed').execute()
  t.same(history, [{ actor: 'payment', reason: 'reconciliation' }])

  const cancelled = await ordersOf(env, unpaid.checkoutId)
  t.same(cancelled.map((o) => [o.status, o.paymentStatus]), [['cancelled', 'unpaid'], ['cancelled', 'unpaid']])
  t.same(await stockOf(env, unpaid.variants), unpaidStockBefore.map((s, i) => s + [2, 1][i]!), 'stock returned')
  t.equal(stripe.intents.get(unpaid.intentId)!.status, 'canceled', 'the unpaid intent is cancelled at Stripe so it cannot be paid late')
  const reasons = await env.app.db.selectFrom('orderHistory').select(['actor', 'reason']).where('orderId', '=', cancelled[0]!.id).where('toStatus', '=', 'cancelled').execute()
  t.match(reasons, [{ actor: 'system', reason: /30 minutes/ }])

  t.same((await ordersOf(env, processing.checkoutId)).map((o) => o.status), ['pending', 'pending'], 'a payment still processing is left for the next run')
  t.same((await ordersOf(env, paidInTime.checkoutId)).map((o) => o.status), ['confirmed', 'confirmed'])
  t.same((await ordersOf(env, recent.checkoutId)).map((o) => o.status), ['pending', 'pending'], 'an order eleven minutes old is not due')
  t.equal(await outboxCount(env, 'order-cancelled'), 2)
  t.equal(await outboxCount(env, 'payment-confirmed'), 4)

  const asked = stripe.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/payment_intents/')).map((r) => r.path.split('/')[3])
  t.notOk(asked.includes(paidInTime.intentId), 'a paid checkout is not asked about')

  const again = await runJob()
  t.same(again, { confirmed: 0, cancelled: 0 }, 'a second run finds nothing more to do')
  t.same(await stockOf(env, unpaid.variants), unpaidStockBefore.map((s, i) => s + [2, 1][i]!), 'and returns no stock twice')
})

t.test('a provider that cannot be reached leaves the orders for the next run', async (t) => {
  const clock = new ManualClock()
  const { env, stripe } = await paymentEnv(t, { clock, worker: true })
  const placed = await placedCheckout(env)
  await stripe.close()
  clock.advance(31 * 60_000)
  const job = await env.app.queues['order-expiry'].add('expire', {})
  const result = await eventually(async () => (await job.isCompleted()) && (await env.app.queues['order-expiry'].getJob(job.id!))?.returnvalue, 30_000)
  t.same(result, { confirmed: 0, cancelled: 0 })
  t.same((await ordersOf(env, placed.checkoutId)).map((o) => o.status), ['pending', 'pending'], 'not cancelled on a guess')
})

t.test('a refund left pending (a crash after its commit) is asked of Stripe by the job, once', async (t) => {
  const clock = new ManualClock()
  const { env, stripe } = await paymentEnv(t, { clock, worker: true })
  const placed = await placedCheckout(env)
  await payAndNotify(env, stripe, placed.intentId)
  const order = (await ordersOf(env, placed.checkoutId))[0]!
  const refundId = env.app.random.uuid()
  await env.app.db.insertInto('refunds').values({ id: refundId, orderId: order.id, amount: 700, status: 'pending', reason: 'order cancelled', createdBy: null, createdAt: clock.now(), updatedAt: clock.now() }).execute()
  clock.advance(2 * 60_000)
  const runJob = async () => {
    const job = await env.app.queues['order-expiry'].add('expire', {})
    return eventually(async () => (await job.isCompleted()) && (await env.app.queues['order-expiry'].getJob(job.id!))?.returnvalue)
  }
  await runJob()
  await runJob()
  const refund = await env.app.db.selectFrom('refunds').select(['status', 'providerRefundId']).where('id', '=', refundId).executeTakeFirstOrThrow()
  t.equal(refund.status, 'succeeded')
  t.same(stripe.refunds.map((r) => [r.amount, r.metadata.refundId]), [[700, refundId]], 'one refund at Stripe, carrying our id')
  t.match((await ordersOf(env, placed.checkoutId)).find((o) => o.id === order.id), { refundedAmount: 700, paymentStatus: 'partially_refunded' })
})
