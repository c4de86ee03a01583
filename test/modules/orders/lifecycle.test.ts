import t from 'tap'
import { ManualClock } from '../../../src/platform/clock.ts'
import type { TestEnv } from '../../helpers/app.ts'
import { createUser, login } from '../../helpers/auth.ts'
import { addToCart, approvedStore, checkout, createProduct, shopper, type Shopper, type Store } from '../../helpers/commerce.ts'
import { outboxCount, payAndNotify, paymentEnv, stockOf } from '../../helpers/payments.ts'
import type { StripeDouble } from '../../helpers/stripe-double.ts'
import { sortBurst } from '../../helpers/idempotent-burst.ts'

type Status = 'pending' | 'confirmed' | 'shipped' | 'delivered' | 'cancelled'
const STATUSES: Status[] = ['pending', 'confirmed', 'shipped', 'delivered', 'cancelled']
// SPEC 8.4, written out here independently of the code's table: the moves a workspace may make.
const WORKSPACE_MOVES: Record<Status, Status[]> = {
  pending: ['cancelled'],
  confirmed: ['shipped', 'cancelled'],
  shipped: ['delivered'],
  delivered: [],
  cancelled: []
}

interface Shop { env: TestEnv, stripe: StripeDouble, store: Store, variantId: string }

async function shop (t: Tap, clock?: ManualClock): Promise<Shop> {
  const { env, stripe } = await paymentEnv(t, { smtp: false, ...(clock ? { clock } : {}) })
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { price: 5000, variants: [{ stock: 1000 }] })
  return { env, stripe, store, variantId: product.variants[0].id }
}
type Tap = Parameters<typeof paymentEnv>[0]

interface Placed { id: string, buyer: Shopper, intentId: string, quantity: number }

const setStatus = (s: Shop, orderId: string, status: string, headers = s.store.owner.headers, reason?: string) =>
  s.env.app.inject({ method: 'PATCH', url: `/workspaces/${s.store.workspaceId}/orders/${orderId}/status`, headers, payload: { status, ...(reason ? { reason } : {}) } })

const cancelOwn = (s: Shop, order: Placed) =>
  s.env.app.inject({ method: 'POST', url: `/orders/${order.id}/cancel`, headers: order.buyer.session.headers, payload: { reason: 'changed my mind' } })

async function pay (s: Shop, order: Placed): Promise<void> {
  await payAndNotify(s.env, s.stripe, order.intentId)
}

/** A new order of `quantity` items, driven through the real routes to `status`. */
async function orderIn (s: Shop, status: Status, quantity = 2): Promise<Placed> {
  const buyer = await shopper(s.env)
  await addToCart(s.env, buyer, s.variantId, quantity)
  const res = await checkout(s.env, buyer)
  if (res.statusCode !== 201) throw new Error(res.body)
  const id = res.json().orders[0].id as string
  const row = await s.env.app.db.selectFrom('checkouts').select('paymentIntentId').where('id', '=', res.json().checkoutId).executeTakeFirstOrThrow()
  const order = { id, buyer, intentId: row.paymentIntentId!, quantity }
  if (status === 'cancelled') await cancelOwn(s, order)
  if (status === 'confirmed' || status === 'shipped' || status === 'delivered') await pay(s, order)
  if (status === 'shipped' || status === 'delivered') await setStatus(s, id, 'shipped')
  if (status === 'delivered') await setStatus(s, id, 'delivered')
  const now = await s.env.app.db.selectFrom('orders').select('status').where('id', '=', id).executeTakeFirstOrThrow()
  if (now.status !== status) throw new Error(`order is ${now.status}, wanted ${status}`)
  return order
}

const rowOf = (s: Shop, id: string) => s.env.app.db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirstOrThrow()

t.test('every move outside the transition table is 409 and changes nothing; every move in it works', async (t) => {
  const s = await shop(t)
  for (const from of STATUSES) {
    const order = await orderIn(s, from)
    const before = await rowOf(s, order.id)
    const historyBefore = (await s.env.app.db.selectFrom('orderHistory').select('id').where('orderId', '=', order.id).execute()).length
    for (const to of STATUSES.filter((to) => !WORKSPACE_MOVES[from].includes(to))) {
      const res = await setStatus(s, order.id, to)
      t.equal(res.statusCode, 409, `workspace ${from} → ${to} is refused`)
      t.equal(res.json().code, 'ILLEGAL_TRANSITION')
    }
    if (from !== 'pending' && from !== 'confirmed') {
      const res = await cancelOwn(s, order)
      t.equal(res.statusCode, 409, `customer cannot cancel a ${from} order`)
    }
    t.same(await rowOf(s, order.id), before, `the ${from} order is unchanged`)
    t.equal((await s.env.app.db.selectFrom('orderHistory').select('id').where('orderId', '=', order.id).execute()).length, historyBefore, 'no history written')
    for (const to of WORKSPACE_MOVES[from]) {
      const fresh = await orderIn(s, from)
      const res = await setStatus(s, fresh.id, to)
      t.equal(res.statusCode, 200, `workspace ${from} → ${to} is allowed`)
      t.equal(res.json().status, to)
    }
  }
  const bad = await setStatus(s, (await orderIn(s, 'pending')).id, 'lost')
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().errors[0].pointer, '/body/status')
})

t.test('the history lists every change with its actor, reason and time', async (t) => {
  const clock = new ManualClock()
  const s = await shop(t, clock)
  const order = await orderIn(s, 'pending')
  clock.advance(60_000)
  await pay(s, order)
  clock.advance(60_000)
  t.equal((await setStatus(s, order.id, 'shipped', s.store.owner.headers, 'tracking 1Z999')).statusCode, 200)
  clock.advance(60_000)
  const delivered = await setStatus(s, order.id, 'delivered')
  t.equal(delivered.statusCode, 200)
  const history = delivered.json().history
  t.match(history, [
    { from: null, to: 'pending', actor: 'customer', actorId: order.buyer.id },
    { from: 'pending', to: 'confirmed', actor: 'payment', actorId: null, reason: `payment ${order.intentId}` },
    { from: 'confirmed', to: 'shipped', actor: 'workspace', actorId: s.store.ownerId, reason: 'tracking 1Z999' },
    { from: 'shipped', to: 'delivered', actor: 'workspace', actorId: s.store.ownerId }
  ])
  t.equal(history.length, 4)
  const times = history.map((h: any) => Date.parse(h.at))
  t.same(times.map((at: number) => at - times[0]), [0, 60_000, 120_000, 180_000], 'each change at the time it happened')
  const customerView = (await s.env.app.inject({ method: 'GET', url: `/orders/${order.id}`, headers: order.buyer.session.headers })).json()
  t.same(customerView.history, history, 'the customer sees the same history')
  t.equal(await outboxCount(s.env, 'order-shipped'), 1)
  t.equal(await outboxCount(s.env, 'order-delivered'), 1)
})

t.test('cancelling returns the stock; a paid order is refunded in full at the provider', async (t) => {
  const s = await shop(t)
  const [start] = await stockOf(s.env, [s.variantId])
  const pending = await orderIn(s, 'pending', 3)
  t.same(await stockOf(s.env, [s.variantId]), [start! - 3])
  const cancelled = await cancelOwn(s, pending)
  t.equal(cancelled.statusCode, 200)
  t.match(cancelled.json(), { status: 'cancelled', paymentStatus: 'unpaid' })
  t.same(await stockOf(s.env, [s.variantId]), [start], 'stock returned')
  t.equal(s.stripe.requests.filter((r) => r.path === '/v1/refunds').length, 0, 'nothing to refund')
  t.equal((await cancelOwn(s, pending)).statusCode, 409, 'cancelling twice is refused')
  t.same(await stockOf(s.env, [s.variantId]), [start], 'and returns nothing twice')

  const paid = await orderIn(s, 'confirmed', 2)
  const res = await cancelOwn(s, paid)
  t.equal(res.statusCode, 200)
  t.match(res.json(), { status: 'cancelled', paymentStatus: 'refunded', refunded: { amount: 10_000, currency: 'usd' } })
  t.same(await stockOf(s.env, [s.variantId]), [start])
  const refunds = s.stripe.requests.filter((r) => r.path === '/v1/refunds')
  t.equal(refunds.length, 1)
  t.same([refunds[0]!.body.payment_intent, refunds[0]!.body.amount], [paid.intentId, '10000'])
  t.match(refunds[0]!.idempotencyKey, /^refund-/)
  t.equal(await outboxCount(s.env, 'order-cancelled'), 2)
  t.equal(await outboxCount(s.env, 'order-refunded'), 1)

  const other = await shopper(s.env)
  const foreign = await s.env.app.inject({ method: 'POST', url: `/orders/${(await orderIn(s, 'pending')).id}/cancel`, headers: other.session.headers, payload: {} })
  t.equal(foreign.statusCode, 404, 'a customer cannot cancel another\'s order')
})

t.test('refunds: step-up, one provider request per idempotency key, partial then full, never more than paid', async (t) => {
  const clock = new ManualClock()
  const s = await shop(t, clock)
  const order = await orderIn(s, 'confirmed', 2) // 10 000
  const refund = (key: string, body: object, headers = s.store.owner.headers) =>
    s.env.app.inject({ method: 'POST', url: `/workspaces/${s.store.workspaceId}/orders/${order.id}/refund`, headers: { ...headers, 'idempotency-key': key }, payload: body })
  const refundRequests = () => s.stripe.requests.filter((r) => r.path === '/v1/refunds')

  const unpaid = await orderIn(s, 'pending')
  const notPaid = await s.env.app.inject({ method: 'POST', url: `/workspaces/${s.store.workspaceId}/orders/${unpaid.id}/refund`, headers: { ...s.store.owner.headers, 'idempotency-key': 'x' }, payload: {} })
  t.equal(notPaid.statusCode, 409)
  t.equal(notPaid.json().code, 'NOT_REFUNDABLE')

  const member = await createUser(s.env, { type: 'vendor' })
  await s.env.app.db.insertInto('workspaceMembers').values({ workspaceId: s.store.workspaceId, userId: member.id, role: 'member' }).execute()
  const memberSession = await login(s.env.app, member.email)
  t.equal((await refund('m1', { amount: 100 }, memberSession.headers)).statusCode, 403, 'a member may manage orders but not refund')
  t.equal((await refund('bad', { amount: 1.5 })).json().errors[0].pointer, '/body/amount')
  const noKey = await s.env.app.inject({ method: 'POST', url: `/workspaces/${s.store.workspaceId}/orders/${order.id}/refund`, headers: s.store.owner.headers, payload: { amount: 100 } })
  t.equal(noKey.statusCode, 400)

  clock.advance(11 * 60_000)
  const stale = await refund('k0', { amount: 100 })
  t.equal(stale.statusCode, 401)
  t.equal(stale.json().code, 'REAUTH_REQUIRED', 'a refund needs a recent sign-in')
  t.equal(refundRequests().length, 0)
  const owner = await login(s.env.app, (await s.env.app.db.selectFrom('users').select('email').where('id', '=', s.store.ownerId).executeTakeFirstOrThrow()).email)

  const parallel = await Promise.all(Array.from({ length: 5 }, () => refund('k1', { amount: 3000 }, owner.headers)))
  const { ran: done, replays, unexplained } = sortBurst(parallel)
  t.equal(done.length, 1, 'one of five parallel requests with one key runs')
  t.equal(unexplained, 0, 'the others are replays or told it is in progress')
  t.ok(replays.every((r) => r.body === done[0]!.body), 'a replay is the stored response')
  t.match(done[0]!.json(), { paymentStatus: 'partially_refunded', refunded: { amount: 3000 }, status: 'confirmed' })
  const replay = await refund('k1', { amount: 3000 }, owner.headers)
  t.equal(replay.body, done[0]!.body, 'a retry replays the response')
  t.equal(refundRequests().length, 1, 'one refund request at the provider for the key')
  t.equal((await refund('k1', { amount: 2000 }, owner.headers)).statusCode, 422, 'the key with another body')

  const tooMuch = await refund('k2', { amount: 7001 }, owner.headers)
  t.equal(tooMuch.statusCode, 409)
  t.equal(tooMuch.json().code, 'REFUND_TOO_LARGE')
  t.equal(tooMuch.json().errors[0].pointer, '/body/amount')
  t.equal(refundRequests().length, 1)

  const rest = await refund('k3', {}, owner.headers)
  t.equal(rest.statusCode, 200)
  t.match(rest.json(), { paymentStatus: 'refunded', refunded: { amount: 10_000 } })
  t.same(refundRequests().map((r) => r.body.amount), ['3000', '7000'])
  t.equal(new Set(refundRequests().map((r) => r.idempotencyKey)).size, 2, 'each refund has its own provider key')
  const nothingLeft = await refund('k4', { amount: 1 }, owner.headers)
  t.equal(nothingLeft.statusCode, 409)
  const row = await rowOf(s, order.id)
  t.same([row.refundedAmount, row.paymentStatus], [10_000, 'refunded'])
  t.equal(await outboxCount(s.env, 'order-refunded'), 2)
})

t.test('workspace order lists filter by status and customers see only their own orders', async (t) => {
  const s = await shop(t)
  const a = await orderIn(s, 'pending')
  const b = await orderIn(s, 'confirmed')
  const list = async (query: string) => (await s.env.app.inject({ method: 'GET', url: `/workspaces/${s.store.workspaceId}/orders${query}`, headers: s.store.owner.headers })).json()
  t.same((await list('?status=confirmed')).items.map((o: any) => o.id), [b.id])
  t.same((await list('?status=pending')).items.map((o: any) => o.id), [a.id])
  t.same((await list('')).items.map((o: any) => o.id).sort(), [a.id, b.id].sort())
  t.equal((await s.env.app.inject({ method: 'GET', url: `/workspaces/${s.store.workspaceId}/orders?status=lost`, headers: s.store.owner.headers })).statusCode, 400)
  const mine = (await s.env.app.inject({ method: 'GET', url: '/orders', headers: a.buyer.session.headers })).json()
  t.same(mine.items.map((o: any) => o.id), [a.id])
  t.equal((await s.env.app.inject({ method: 'GET', url: `/orders/${b.id}`, headers: a.buyer.session.headers })).statusCode, 404)
})
