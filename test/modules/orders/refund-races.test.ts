import t from 'tap'
import { login } from '../../helpers/auth.ts'
import { addToCart, approvedStore, checkout, createProduct, shopper } from '../../helpers/commerce.ts'
import { payAndNotify, paymentEnv } from '../../helpers/payments.ts'

// Issue 9, item 6: refunds racing refunds, and a refund racing a cancel, never give back more
// than was paid: the decision reads the order under its row lock, counting refunds in flight.

async function paidOrder (t: Parameters<typeof paymentEnv>[0], latencyMs: number) {
  const { env, stripe } = await paymentEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { price: 5000, variants: [{ stock: 100 }] })
  const ownerEmail = (await env.app.db.selectFrom('users').select('email').where('id', '=', store.ownerId).executeTakeFirstOrThrow()).email
  const owner = await login(env.app, ownerEmail)
  const place = async () => {
    const buyer = await shopper(env)
    await addToCart(env, buyer, product.variants[0].id, 2)
    const res = await checkout(env, buyer)
    const row = await env.app.db.selectFrom('checkouts').select('paymentIntentId').where('id', '=', res.json().checkoutId).executeTakeFirstOrThrow()
    await payAndNotify(env, stripe, row.paymentIntentId!)
    return { id: res.json().orders[0].id as string, intentId: row.paymentIntentId! }
  }
  stripe.latencyMs = 0
  const orders = [await place(), await place()]
  stripe.latencyMs = latencyMs
  const refund = (orderId: string, amount: number, key: string) => env.app.inject({
    method: 'POST',
    url: `/workspaces/${store.workspaceId}/orders/${orderId}/refund`,
    headers: { ...owner.headers, 'idempotency-key': key },
    payload: { amount }
  })
  const cancel = (orderId: string) => env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}/orders/${orderId}/status`, headers: owner.headers, payload: { status: 'cancelled' } })
  const row = (id: string) => env.app.db.selectFrom('orders').select(['status', 'paymentStatus', 'refundedAmount']).where('id', '=', id).executeTakeFirstOrThrow()
  const sentToStripe = (intentId: string) => stripe.requests.filter((r) => r.path === '/v1/refunds' && r.body.payment_intent === intentId).reduce((s, r) => s + Number(r.body.amount), 0)
  return { env, stripe, orders, refund, cancel, row, sentToStripe }
}

t.test('five refunds racing for one order give back at most what was paid', async (t) => {
  const s = await paidOrder(t, 60)
  const order = s.orders[0]!
  const results = await Promise.all([1, 2, 3, 4, 5].map((i) => s.refund(order.id, 3000, `race-${i}`)))
  const ok = results.filter((r) => r.statusCode === 200)
  t.equal(ok.length, 3, 'three of 3000 fit in 10 000')
  t.ok(results.filter((r) => r.statusCode !== 200).every((r) => r.statusCode === 409 && r.json().code === 'REFUND_TOO_LARGE'), 'the rest are refused')
  t.match(await s.row(order.id), { paymentStatus: 'partially_refunded', refundedAmount: 9000 })
  t.equal(s.sentToStripe(order.intentId), 9000, 'Stripe was asked for 9000, no more')
  t.equal(s.stripe.netCaptured(order.intentId), 1000)
})

t.test('a refund racing a cancel: the cancel refunds only what the refund left', async (t) => {
  const s = await paidOrder(t, 80)
  for (const [i, order] of s.orders.entries()) {
    const ops = [() => s.refund(order.id, 3000, `k-${i}`), () => s.cancel(order.id)]
    if (i === 1) ops.reverse()
    const [a, b] = await Promise.all(ops.map((op) => op()))
    t.ok([a!.statusCode, b!.statusCode].includes(200), `ordering ${i}: at least one went through`)
    t.ok([a!, b!].every((r) => r.statusCode === 200 || (r.statusCode === 409 && ['NOT_REFUNDABLE', 'REFUND_TOO_LARGE'].includes(r.json().code))), `ordering ${i}: no 5xx (${a!.statusCode}, ${b!.statusCode})`)
    t.match(await s.row(order.id), { status: 'cancelled', paymentStatus: 'refunded', refundedAmount: 10_000 }, `ordering ${i}: the whole payment is back, once`)
    t.equal(s.sentToStripe(order.intentId), 10_000, `ordering ${i}: never more asked of Stripe than was paid`)
    t.equal(s.stripe.netCaptured(order.intentId), 0)
    const pending = await s.env.app.db.selectFrom('refunds').select('id').where('orderId', '=', order.id).where('status', '!=', 'succeeded').execute()
    t.equal(pending.length, 0, `ordering ${i}: no refund left pending or failed`)
  }
})
