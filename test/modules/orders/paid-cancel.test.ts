import t from 'tap'
import { ManualClock } from '../../../src/platform/clock.ts'
import { createUser, login } from '../../helpers/auth.ts'
import { addToCart, approvedStore, checkout, createProduct, shopper } from '../../helpers/commerce.ts'
import { payAndNotify, paymentEnv } from '../../helpers/payments.ts'

// Issue 9, item 3: cancelling a paid order refunds money, so on the workspace side it needs
// what a refund needs: `orders:refund` and a recent sign-in. `orders:manage` alone cancels
// unpaid orders only.

t.test('a workspace cancel of a paid order needs orders:refund and a recent sign-in; unpaid orders need only orders:manage', async (t) => {
  const clock = new ManualClock()
  const { env, stripe } = await paymentEnv(t, { clock })
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { price: 2500, variants: [{ stock: 100 }] })
  const variantId = product.variants[0].id as string
  const staff = async (role: 'member' | 'admin') => {
    const user = await createUser(env, { type: 'vendor' })
    await env.app.db.insertInto('workspaceMembers').values({ workspaceId: store.workspaceId, userId: user.id, role }).execute()
    return user.email
  }
  const memberEmail = await staff('member')
  const adminEmail = await staff('admin')
  const ownerEmail = (await env.app.db.selectFrom('users').select('email').where('id', '=', store.ownerId).executeTakeFirstOrThrow()).email

  const place = async (paid: boolean) => {
    const buyer = await shopper(env)
    await addToCart(env, buyer, variantId, 2)
    const res = await checkout(env, buyer)
    const row = await env.app.db.selectFrom('checkouts').select('paymentIntentId').where('id', '=', res.json().checkoutId).executeTakeFirstOrThrow()
    if (paid) await payAndNotify(env, stripe, row.paymentIntentId!)
    return res.json().orders[0].id as string
  }
  const cancel = (orderId: string, headers: Record<string, string>) =>
    env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}/orders/${orderId}/status`, headers, payload: { status: 'cancelled' } })
  const orderRow = (id: string) => env.app.db.selectFrom('orders').select(['status', 'paymentStatus', 'refundedAmount']).where('id', '=', id).executeTakeFirstOrThrow()
  const refundRequests = () => stripe.requests.filter((r) => r.path === '/v1/refunds').length

  const member = await login(env.app, memberEmail)
  const paid = await place(true)
  const denied = await cancel(paid, member.headers)
  t.equal(denied.statusCode, 403, 'a member cannot cancel a paid order')
  t.equal(denied.json().code, 'FORBIDDEN')
  t.same(await orderRow(paid), { status: 'confirmed', paymentStatus: 'paid', refundedAmount: 0 }, 'the order is untouched')
  t.equal(refundRequests(), 0, 'nothing was refunded')

  const unpaid = await place(false)
  const allowed = await cancel(unpaid, member.headers)
  t.equal(allowed.statusCode, 200, 'a member can cancel an unpaid order')
  t.match(allowed.json(), { status: 'cancelled', paymentStatus: 'unpaid' })

  clock.advance(11 * 60_000)
  const owner = store.owner // signed in 11 minutes ago
  const stale = await cancel(paid, owner.headers)
  t.equal(stale.statusCode, 401, 'the owner needs a recent sign-in')
  t.equal(stale.json().code, 'REAUTH_REQUIRED')
  t.same(await orderRow(paid), { status: 'confirmed', paymentStatus: 'paid', refundedAmount: 0 })
  t.equal(refundRequests(), 0)
  const staleMember = await cancel(paid, member.headers)
  t.equal(staleMember.statusCode, 403, 'a member is refused whatever the age of the sign-in')

  const fresh = await login(env.app, ownerEmail)
  const done = await cancel(paid, fresh.headers)
  t.equal(done.statusCode, 200)
  t.match(done.json(), { status: 'cancelled', paymentStatus: 'refunded', refunded: { amount: 5000 } })
  t.equal(refundRequests(), 1)

  const admin = await login(env.app, adminEmail)
  const paid2 = await place(true)
  const byAdmin = await cancel(paid2, admin.headers)
  t.equal(byAdmin.statusCode, 200, 'an admin holds orders:refund')
  t.match(byAdmin.json(), { status: 'cancelled', paymentStatus: 'refunded' })
})
