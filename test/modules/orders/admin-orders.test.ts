import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { createUser, login, type SignedIn } from '../../helpers/auth.ts'
import { addToCart, approvedStore, checkout, createProduct, shopper, type Shopper, type Store } from '../../helpers/commerce.ts'

// Issue 15: platform admins see every workspace's orders (item 4); orders carry the audit
// columns createdBy and updatedBy like the other records (item 5).

type Tap = Parameters<typeof createTestEnv>[0]

async function placeOrder (env: TestEnv, store: Store, buyer?: Shopper): Promise<{ id: string, checkoutId: string, buyer: Shopper }> {
  const product = await createProduct(env, store, { price: 1200, variants: [{ stock: 50 }] })
  const who = buyer ?? await shopper(env)
  await addToCart(env, who, product.variants[0].id, 1)
  const res = await checkout(env, who)
  if (res.statusCode !== 201) throw new Error(res.body)
  return { id: res.json().orders[0].id, checkoutId: res.json().checkoutId, buyer: who }
}

async function scene (t: Tap) {
  const env = await createTestEnv(t)
  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  const stores = [await approvedStore(env), await approvedStore(env)] as const
  return { env, admin, stores }
}

const asAdmin = (env: TestEnv, admin: SignedIn, url: string) => env.app.inject({ method: 'GET', url, headers: admin.headers })
const ids = (res: { json: () => any }) => res.json().items.map((o: { id: string }) => o.id)

t.test('admins list every workspace\'s orders, by workspace, customer or status, paged; others may not', async (t) => {
  const { env, admin, stores } = await scene(t)
  const first = await placeOrder(env, stores[0])
  const second = await placeOrder(env, stores[1])
  const third = await placeOrder(env, stores[1], first.buyer)
  t.equal((await env.app.inject({ method: 'POST', url: `/orders/${second.id}/cancel`, headers: second.buyer.session.headers })).statusCode, 200)

  const all = await asAdmin(env, admin, '/admin/orders')
  t.equal(all.statusCode, 200)
  t.same(ids(all), [third.id, second.id, first.id], 'every order, newest first')
  t.match(all.json().items[0], { id: third.id, workspaceId: stores[1].workspaceId, items: [{ quantity: 1 }], history: [{ to: 'pending' }] }, 'with items and history')
  t.same(ids(await asAdmin(env, admin, `/admin/orders?workspaceId=${stores[1].workspaceId}`)), [third.id, second.id], 'of one workspace')
  t.same(ids(await asAdmin(env, admin, `/admin/orders?userId=${first.buyer.id}`)), [third.id, first.id], 'of one customer')
  t.same(ids(await asAdmin(env, admin, '/admin/orders?status=cancelled')), [second.id], 'of one status')
  const page = await asAdmin(env, admin, '/admin/orders?limit=2')
  const rest = await asAdmin(env, admin, `/admin/orders?limit=2&cursor=${page.json().nextCursor}`)
  t.same([...ids(page), ...ids(rest)], [third.id, second.id, first.id], 'paged by keyset')
  t.equal((await asAdmin(env, admin, `/admin/orders/${first.id}`)).json().id, first.id, 'one order')
  t.equal((await asAdmin(env, admin, `/admin/orders/${stores[0].workspaceId}`)).statusCode, 404, 'an unknown one is 404')

  const bad = await asAdmin(env, admin, '/admin/orders?status=lost')
  t.equal(bad.statusCode, 400)
  t.match(bad.json().errors, [{ pointer: '/querystring/status' }], 'a bad filter names the field')
  for (const who of [stores[0].owner, first.buyer.session]) {
    t.equal((await env.app.inject({ method: 'GET', url: '/admin/orders', headers: who.headers })).statusCode, 403)
    t.equal((await env.app.inject({ method: 'GET', url: `/admin/orders/${first.id}`, headers: who.headers })).statusCode, 403)
  }
})

t.test('createdBy is the customer; updatedBy the last person who changed the order, not the payment', async (t) => {
  const { env, admin, stores } = await scene(t)
  const store = stores[0]
  const staff = await createUser(env, { type: 'vendor' })
  await env.app.db.insertInto('workspaceMembers').values({ workspaceId: store.workspaceId, userId: staff.id, role: 'member' }).execute()
  const member = await login(env.app, staff.email)
  const order = await placeOrder(env, store)
  const audit = async () => {
    const view = (await asAdmin(env, admin, `/admin/orders/${order.id}`)).json()
    const row = await env.app.db.selectFrom('orders').select(['createdBy', 'updatedBy']).where('id', '=', order.id).executeTakeFirstOrThrow()
    t.same({ createdBy: view.createdBy, updatedBy: view.updatedBy }, row, 'the view shows the stored columns')
    return row
  }
  t.same(await audit(), { createdBy: order.buyer.id, updatedBy: order.buyer.id }, 'checked out by the customer')
  const paid = await env.app.inject({ method: 'POST', url: `/payments/simulator/${order.checkoutId}/succeed`, headers: order.buyer.session.headers })
  t.equal(paid.statusCode, 200)
  t.same(await audit(), { createdBy: order.buyer.id, updatedBy: order.buyer.id }, 'the payment confirming it names nobody new')
  const shipped = await env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}/orders/${order.id}/status`, headers: member.headers, payload: { status: 'shipped' } })
  t.equal(shipped.statusCode, 200)
  t.same(await audit(), { createdBy: order.buyer.id, updatedBy: staff.id }, 'shipped by a member of the workspace')
  const refund = await env.app.inject({ method: 'POST', url: `/workspaces/${store.workspaceId}/orders/${order.id}/refund`, headers: { ...store.owner.headers, 'idempotency-key': 'audit-refund' }, payload: { amount: 200 } })
  t.equal(refund.statusCode, 200, refund.body)
  t.same(await audit(), { createdBy: order.buyer.id, updatedBy: store.ownerId }, 'refunded in part by the owner')

  const other = await placeOrder(env, store)
  t.equal((await env.app.inject({ method: 'POST', url: `/orders/${other.id}/cancel`, headers: other.buyer.session.headers })).statusCode, 200)
  const row = await env.app.db.selectFrom('orders').select(['createdBy', 'updatedBy']).where('id', '=', other.id).executeTakeFirstOrThrow()
  t.same(row, { createdBy: other.buyer.id, updatedBy: other.buyer.id }, 'cancelled by its customer')
})
