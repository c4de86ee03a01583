import { randomUUID } from 'node:crypto'
import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { multipart, PNG } from '../../helpers/multipart.ts'
import { ROLES, tenancy, type Role } from '../../helpers/tenancy.ts'
import { addToCart, checkout, createProduct, shopper, type Store } from '../../helpers/commerce.ts'
import type { Permission } from '../../../src/modules/workspaces/public.ts'

// Every route under /workspaces/:id, for every role: allowed roles get past the guard; a member
// without the permission gets 403; a non-member (or another workspace's owner) gets 404 and
// learns nothing. Requests are built so that, once allowed, they are harmless to repeat.
interface RouteCase {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  path: (ws: string, ctx: { memberId: string }) => string
  permission: Permission
  body?: () => { payload?: unknown, headers?: Record<string, string> }
}

const ROUTES: RouteCase[] = [
  { method: 'GET', path: (ws) => `/workspaces/${ws}`, permission: 'workspace:read' },
  { method: 'PATCH', path: (ws) => `/workspaces/${ws}`, permission: 'workspace:update', body: () => ({ payload: { primaryColor: '#123456' } }) },
  { method: 'PUT', path: (ws) => `/workspaces/${ws}/logo`, permission: 'workspace:update', body: () => multipart([{ field: 'logo', filename: 'l.png', contentType: 'image/png', content: PNG }]) },
  { method: 'POST', path: (ws) => `/workspaces/${ws}/transfer-ownership`, permission: 'workspace:transfer', body: () => ({ payload: { userId: randomUUID() } }) },
  { method: 'GET', path: (ws) => `/workspaces/${ws}/members`, permission: 'members:read' },
  { method: 'PATCH', path: (ws, { memberId }) => `/workspaces/${ws}/members/${memberId}`, permission: 'members:manage', body: () => ({ payload: { role: 'member' } }) },
  { method: 'DELETE', path: (ws) => `/workspaces/${ws}/members/${randomUUID()}`, permission: 'members:manage' },
  { method: 'POST', path: (ws) => `/workspaces/${ws}/invitations`, permission: 'members:manage', body: () => ({ payload: { email: `invitee-${randomUUID().slice(0, 8)}@example.test`, role: 'member' } }) },
  { method: 'GET', path: (ws) => `/workspaces/${ws}/invitations`, permission: 'members:manage' },
  { method: 'GET', path: (ws) => `/workspaces/${ws}/payouts`, permission: 'orders:refund' },
  { method: 'POST', path: (ws) => `/workspaces/${ws}/payouts/onboarding`, permission: 'payouts:manage' },
  { method: 'DELETE', path: (ws) => `/workspaces/${ws}/invitations/${randomUUID()}`, permission: 'members:manage' },
  // Last: it deletes the workspace for the owner.
  { method: 'DELETE', path: (ws) => `/workspaces/${ws}`, permission: 'workspace:delete' }
]

// What each role gets, written out here (SPEC 7.1), not read from the module's own table: a
// wrong entry there must make this test fail, not move its expectations along with it.
const EXPECTED: Record<Permission, Record<Role, 'allowed' | 403 | 404>> = {
  'workspace:read': { owner: 'allowed', admin: 'allowed', member: 'allowed', 'non-member': 404, 'other-owner': 404 },
  'workspace:update': { owner: 'allowed', admin: 'allowed', member: 403, 'non-member': 404, 'other-owner': 404 },
  'workspace:delete': { owner: 'allowed', admin: 403, member: 403, 'non-member': 404, 'other-owner': 404 },
  'workspace:transfer': { owner: 'allowed', admin: 403, member: 403, 'non-member': 404, 'other-owner': 404 },
  'members:read': { owner: 'allowed', admin: 'allowed', member: 'allowed', 'non-member': 404, 'other-owner': 404 },
  'members:manage': { owner: 'allowed', admin: 'allowed', member: 403, 'non-member': 404, 'other-owner': 404 },
  'products:write': { owner: 'allowed', admin: 'allowed', member: 'allowed', 'non-member': 404, 'other-owner': 404 },
  'orders:manage': { owner: 'allowed', admin: 'allowed', member: 'allowed', 'non-member': 404, 'other-owner': 404 },
  'orders:refund': { owner: 'allowed', admin: 'allowed', member: 403, 'non-member': 404, 'other-owner': 404 },
  'payouts:manage': { owner: 'allowed', admin: 403, member: 403, 'non-member': 404, 'other-owner': 404 }
}

t.test('the workspace role matrix', async (t) => {
  const env = await createTestEnv(t)
  const world = await tenancy(env)
  // Owners last within each route, so a destructive success cannot hide the others' answers.
  const order: Role[] = ['member', 'admin', 'non-member', 'other-owner', 'owner']
  t.same([...order].sort(), [...ROLES].sort())
  for (const route of ROUTES) {
    for (const role of order) {
      const extra = route.body?.() ?? {}
      const res = await env.app.inject({
        method: route.method,
        url: route.path(world.workspaceId, { memberId: world.users.member.id }),
        headers: { ...world.users[role].session.headers, ...extra.headers },
        ...(extra.payload !== undefined ? { payload: extra.payload as never } : {})
      })
      const want = EXPECTED[route.permission][role]
      const label = `${route.method} ${route.path(':id', { memberId: ':userId' })} as ${role}`
      if (want === 'allowed') {
        const guardRefused = res.statusCode === 403 || res.statusCode === 401 || (res.statusCode === 404 && /workspace not found/.test(res.json().detail))
        t.notOk(guardRefused, `${label}: allowed (${res.statusCode})`)
        t.ok(res.statusCode < 500, `${label}: no server error`)
      } else {
        t.equal(res.statusCode, want, `${label}: ${want}`)
        if (want === 404) t.match(res.json().detail, /workspace not found/, `${label}: indistinguishable from a missing workspace`)
      }
    }
  }
  const missing = await env.app.inject({ method: 'GET', url: `/workspaces/${randomUUID()}`, headers: world.users.owner.session.headers })
  t.equal(missing.statusCode, 404, 'a made-up id answers the same 404')
})

// The commerce routes under /workspaces/:wid: a member of workspace A reaches none of B's
// products and orders, neither through B's id (the guard: not a member) nor through A's own
// id with B's product or order id (the services scope every query to the workspace). B's
// rows are read back after every attempt: a refusal that still changed something would fail.
t.test('a member of one workspace gets 404 on every product and order route of another, which stays unchanged', async (t) => {
  const env = await createTestEnv(t)
  const world = await tenancy(env)
  const a = world.workspaceId
  const b = world.otherWorkspaceId
  const storeOf = (workspaceId: string, who: typeof world.users.owner): Store => ({ workspaceId, ownerId: who.id, owner: who.session, name: 'store' })
  const storeA = storeOf(a, world.users.owner)
  const storeB = storeOf(b, world.users['other-owner'])
  // B sells: its owner's vendor profile is approved, so a customer can buy from it.
  await env.app.db.insertInto('vendorProfiles').values({ id: randomUUID(), userId: storeB.ownerId, businessType: 'retailer', businessName: 'Rival', reviewStatus: 'approved' }).execute()

  const productA = await createProduct(env, storeA, { title: 'Ours', variants: [{ stock: 5 }] })
  const productB = await createProduct(env, storeB, { title: 'Theirs', price: 3000, variants: [{ size: 'M', stock: 10 }] })
  const image = multipart([{ field: 'image', filename: 'b.png', contentType: 'image/png', content: PNG }])
  const upload = await env.app.inject({ method: 'POST', url: `/workspaces/${b}/products/${productB.id}/images`, headers: { ...storeB.owner.headers, ...image.headers }, payload: image.payload })
  t.equal(upload.statusCode, 201, 'B\'s product has an image')
  const imageB = upload.json().images[0].id as string
  // B has an order, paid, so a leaked status change or refund would show in its row.
  const buyer = await shopper(env)
  await addToCart(env, buyer, productB.variants[0].id, 2)
  const placed = await checkout(env, buyer)
  t.equal(placed.statusCode, 201, 'B has an order')
  const orderB = placed.json().orders[0].id as string
  const paid = await env.app.inject({ method: 'POST', url: `/payments/simulator/${placed.json().checkoutId}/succeed`, headers: buyer.session.headers })
  t.equal(paid.statusCode, 200)

  const json = (value: unknown) => JSON.parse(JSON.stringify(value))
  const stateOfB = async () => json({
    product: await env.app.db.selectFrom('products').selectAll().where('id', '=', productB.id).executeTakeFirstOrThrow(),
    variants: await env.app.db.selectFrom('productVariants').selectAll().where('productId', '=', productB.id).orderBy('id').execute(),
    images: await env.app.db.selectFrom('productImages').selectAll().where('productId', '=', productB.id).orderBy('id').execute(),
    order: await env.app.db.selectFrom('orders').selectAll().where('id', '=', orderB).executeTakeFirstOrThrow(),
    history: await env.app.db.selectFrom('orderHistory').selectAll().where('orderId', '=', orderB).orderBy('id').execute(),
    refunds: await env.app.db.selectFrom('refunds').selectAll().where('orderId', '=', orderB).execute()
  })
  const before = await stateOfB()
  t.match(before, { product: { title: 'Theirs', isActive: true, deletedAt: null }, order: { status: 'confirmed', paymentStatus: 'paid', refundedAmount: 0 } })
  t.equal(before.images.length, 1)

  interface Attempt { method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: (wid: string) => string, body?: () => { payload?: unknown, headers?: Record<string, string> } }
  const onItems: Attempt[] = [
    { method: 'GET', path: (wid) => `/workspaces/${wid}/products/${productB.id}` },
    { method: 'PATCH', path: (wid) => `/workspaces/${wid}/products/${productB.id}`, body: () => ({ payload: { title: 'Taken over', price: { amount: 1, currency: 'usd' }, isActive: false } }) },
    { method: 'POST', path: (wid) => `/workspaces/${wid}/products/${productB.id}/images`, body: () => multipart([{ field: 'image', filename: 'x.png', contentType: 'image/png', content: PNG }]) },
    { method: 'PATCH', path: (wid) => `/workspaces/${wid}/products/${productB.id}/images`, body: () => ({ payload: { order: [imageB] } }) },
    { method: 'DELETE', path: (wid) => `/workspaces/${wid}/products/${productB.id}/images/${imageB}` },
    { method: 'GET', path: (wid) => `/workspaces/${wid}/orders/${orderB}` },
    { method: 'PATCH', path: (wid) => `/workspaces/${wid}/orders/${orderB}/status`, body: () => ({ payload: { status: 'shipped', reason: 'not yours' } }) },
    { method: 'POST', path: (wid) => `/workspaces/${wid}/orders/${orderB}/refund`, body: () => ({ payload: { amount: 100 }, headers: { 'idempotency-key': randomUUID() } }) },
    { method: 'DELETE', path: (wid) => `/workspaces/${wid}/products/${productB.id}` }
  ]
  const lists: Attempt[] = [
    { method: 'GET', path: (wid) => `/workspaces/${wid}/products` },
    { method: 'GET', path: (wid) => `/workspaces/${wid}/orders` }
  ]

  const attempt = async (role: Role, route: Attempt, wid: string) => {
    const extra = route.body?.() ?? {}
    return env.app.inject({
      method: route.method,
      url: route.path(wid),
      headers: { ...world.users[role].session.headers, ...extra.headers },
      ...(extra.payload !== undefined ? { payload: extra.payload as never } : {})
    })
  }
  const label = (route: Attempt, wid: string, role: Role) =>
    `${route.method} ${route.path(wid === a ? ':A' : ':B').replace(productB.id, ':B-product').replace(orderB, ':B-order').replace(imageB, ':B-image')} as A's ${role}`

  // Through B's workspace id: the guard answers as for a workspace that does not exist.
  for (const role of ['owner', 'admin', 'member'] as const) {
    for (const route of [...onItems, ...lists]) {
      const res = await attempt(role, route, b)
      t.equal(res.statusCode, 404, `${label(route, b, role)}: 404`)
      t.match(res.json(), { code: 'NOT_FOUND', detail: /workspace not found/ }, `${label(route, b, role)}: indistinguishable from a missing workspace`)
      t.same(await stateOfB(), before, `${label(route, b, role)}: B unchanged`)
    }
  }

  // Through A's own workspace id with B's product or order id: the service finds nothing.
  for (const role of ['owner', 'admin'] as const) {
    for (const route of onItems) {
      const res = await attempt(role, route, a)
      t.equal(res.statusCode, 404, `${label(route, a, role)}: 404`)
      t.match(res.json(), { code: 'NOT_FOUND', detail: /(product|order) not found/ }, `${label(route, a, role)}: not found`)
      t.same(await stateOfB(), before, `${label(route, a, role)}: B unchanged`)
    }
    const products = await attempt(role, lists[0]!, a)
    t.equal(products.statusCode, 200)
    t.same(products.json().items.map((p: any) => p.id), [productA.id], `A's product list as ${role}: only A's product`)
    const orders = await attempt(role, lists[1]!, a)
    t.equal(orders.statusCode, 200)
    t.same(orders.json().items, [], `A's order list as ${role}: none of B's orders`)
  }
  const files = await env.app.db.selectFrom('productImages').select('id').execute()
  t.same(files.map((f) => f.id), [imageB], 'no image was attached anywhere by the refused uploads')

  // The same routes work for their rightful users, so the 404s above are refusals, not broken routes.
  const ownA = await env.app.inject({ method: 'GET', url: `/workspaces/${a}/products/${productA.id}`, headers: world.users.admin.session.headers })
  t.equal(ownA.statusCode, 200, 'A\'s admin reads A\'s product')
  const ownB = await env.app.inject({ method: 'GET', url: `/workspaces/${b}/orders/${orderB}`, headers: storeB.owner.headers })
  t.equal(ownB.statusCode, 200, 'B\'s owner reads B\'s order')
  t.equal(ownB.json().id, orderB)
  // And the very requests refused above do change B when B's owner sends them.
  const [, editProduct, , , , , shipOrder, refundOrder, deleteProduct] = onItems
  const byOwnerB = async (route: Attempt) => {
    const extra = route.body?.() ?? {}
    return env.app.inject({ method: route.method, url: route.path(b), headers: { ...storeB.owner.headers, ...extra.headers }, ...(extra.payload !== undefined ? { payload: extra.payload as never } : {}) })
  }
  t.equal((await byOwnerB(shipOrder!)).statusCode, 200, 'B\'s owner ships B\'s order')
  t.equal((await byOwnerB(refundOrder!)).statusCode, 200, 'B\'s owner refunds part of it')
  t.equal((await byOwnerB(editProduct!)).statusCode, 200, 'B\'s owner edits B\'s product')
  t.equal((await byOwnerB(deleteProduct!)).statusCode, 204, 'B\'s owner deletes B\'s product')
  const after = await stateOfB()
  t.match(after, { product: { title: 'Taken over', isActive: false }, order: { status: 'shipped' } }, 'those requests change B')
  t.ok(after.product.deletedAt, 'B\'s product is deleted')
  t.equal(after.refunds.length, 1, 'a refund is recorded')
})
