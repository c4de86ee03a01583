import { sql } from 'kysely'
import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { createUser, login, type SignedIn } from '../../helpers/auth.ts'
import { addToCart, approvedStore, checkout, createProduct, shopper, type Store } from '../../helpers/commerce.ts'
import { onSale } from '../../../src/modules/products/public.ts'

// Issue 15, item 4: platform admins see every workspace's products and unlist or relist one,
// with a reason, in an audit trail. An unlisted product is off sale by the one rule: not in the
// catalog, not counted in its category, not addable to a cart, not bought at checkout.

interface World { env: TestEnv, admin: SignedIn, stores: Store[] }

async function world (t: Tap): Promise<World> {
  const env = await createTestEnv(t)
  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  return { env, admin, stores: [await approvedStore(env), await approvedStore(env, { approved: false })] }
}
type Tap = Parameters<typeof createTestEnv>[0]

const moderate = (w: World, id: string, action: 'unlist' | 'relist', payload: object = { reason: `${action} for a test` }, headers = w.admin.headers) =>
  w.env.app.inject({ method: 'POST', url: `/admin/products/${id}/${action}`, headers, payload })
const catalog = async (env: TestEnv) => {
  const ids = (await env.app.inject({ method: 'GET', url: '/products' })).json().items.map((p: { id: string }) => p.id)
  const categories = (await env.app.inject({ method: 'GET', url: '/categories' })).json().items.map((c: { slug: string, count: number }) => [c.slug, c.count])
  return { ids, categories }
}
const drift = async (env: TestEnv) =>
  (await sql<{ n: number }>`select count(*)::int as n from products p where p.listed <> ${onSale('p')}`.execute(env.app.db)).rows[0]!.n

t.test('admins list every workspace\'s products, inactive and unapproved ones included, filtered and paged', async (t) => {
  const w = await world(t)
  const [approved, pending] = w.stores as [Store, Store]
  const a = await createProduct(w.env, approved, { title: 'Active' })
  const b = await createProduct(w.env, approved, { title: 'Draft', isActive: false })
  const c = await createProduct(w.env, pending, { title: 'Of a pending vendor' })
  const deleted = await createProduct(w.env, approved, { title: 'Deleted' })
  await w.env.app.inject({ method: 'DELETE', url: `/workspaces/${approved.workspaceId}/products/${deleted.id}`, headers: approved.owner.headers })

  const all = await w.env.app.inject({ method: 'GET', url: '/admin/products', headers: w.admin.headers })
  t.equal(all.statusCode, 200)
  t.same(all.json().items.map((p: { id: string }) => p.id), [c.id, b.id, a.id], 'newest first, every live product of every workspace')
  const page = await w.env.app.inject({ method: 'GET', url: '/admin/products?limit=2', headers: w.admin.headers })
  const next = await w.env.app.inject({ method: 'GET', url: `/admin/products?limit=2&cursor=${page.json().nextCursor}`, headers: w.admin.headers })
  t.same([...page.json().items, ...next.json().items].map((p: { id: string }) => p.id), [c.id, b.id, a.id], 'paged by keyset')
  const ofPending = await w.env.app.inject({ method: 'GET', url: `/admin/products?workspaceId=${pending.workspaceId}`, headers: w.admin.headers })
  t.same(ofPending.json().items.map((p: { id: string }) => p.id), [c.id], 'one workspace')
  t.equal((await w.env.app.inject({ method: 'GET', url: `/admin/products/${b.id}`, headers: w.admin.headers })).json().isActive, false, 'one product, inactive too')
  t.equal((await w.env.app.inject({ method: 'GET', url: `/admin/products/${deleted.id}`, headers: w.admin.headers })).statusCode, 404, 'a deleted one is 404')
  const bad = await w.env.app.inject({ method: 'GET', url: '/admin/products?workspaceId=nope', headers: w.admin.headers })
  t.equal(bad.statusCode, 400)
  t.match(bad.json().errors, [{ pointer: '/querystring/workspaceId' }])
  for (const who of [approved.owner, pending.owner]) {
    t.equal((await w.env.app.inject({ method: 'GET', url: '/admin/products', headers: who.headers })).statusCode, 403, 'vendors may not')
  }
})

t.test('unlisting takes a product off sale everywhere with a reason the vendor sees; the vendor cannot relist it; relisting brings it back', async (t) => {
  const w = await world(t)
  const store = w.stores[0]!
  const kept = await createProduct(w.env, store, { title: 'Kept lamp', categories: ['lamps'] })
  const product = await createProduct(w.env, store, { title: 'Fake lamp', categories: ['lamps', 'fakes'], variants: [{ stock: 5 }] })
  const buyer = await shopper(w.env)
  t.equal((await addToCart(w.env, buyer, product.variants[0].id, 1)).statusCode, 200, 'in a cart before')
  t.same((await catalog(w.env)).categories, [['lamps', 2], ['fakes', 1]])

  const reason = 'Counterfeit brand reported by the trademark owner'
  const unlisted = await moderate(w, product.id, 'unlist', { reason })
  t.equal(unlisted.statusCode, 200)
  t.match(unlisted.json(), { id: product.id, isActive: true, unlisted: { reason } })
  t.ok(Date.parse(unlisted.json().unlisted.at), 'with the time')
  t.same(await catalog(w.env), { ids: [kept.id], categories: [['lamps', 1]] }, 'gone from the catalog and its category counts')
  t.equal((await w.env.app.inject({ method: 'GET', url: `/products/${product.id}` })).statusCode, 404)
  const add = await addToCart(w.env, await shopper(w.env), product.variants[0].id, 1)
  t.equal(add.statusCode, 404, 'no longer addable to a cart')
  const bought = await checkout(w.env, buyer)
  t.equal(bought.statusCode, 409, 'the cart that held it cannot buy it')
  t.equal(bought.json().code, 'PRODUCT_UNAVAILABLE')
  t.equal((await w.env.app.db.selectFrom('productVariants').select('stock').where('id', '=', product.variants[0].id).executeTakeFirstOrThrow()).stock, 5, 'no stock taken')

  const vendorView = await w.env.app.inject({ method: 'GET', url: `/workspaces/${store.workspaceId}/products/${product.id}`, headers: store.owner.headers })
  t.match(vendorView.json(), { unlisted: { reason } }, 'the vendor sees it unlisted, and why')
  for (const isActive of [false, true]) {
    const toggle = await w.env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}/products/${product.id}`, headers: store.owner.headers, payload: { isActive } })
    t.equal(toggle.statusCode, 200)
  }
  t.same((await catalog(w.env)).ids, [kept.id], 'deactivating and reactivating does not relist it')
  t.equal((await moderate(w, product.id, 'unlist')).json().code, 'ALREADY_UNLISTED')

  const relisted = await moderate(w, product.id, 'relist', { reason: 'The vendor proved the goods genuine' })
  t.equal(relisted.statusCode, 200)
  t.equal(relisted.json().unlisted, null)
  t.same(await catalog(w.env), { ids: [product.id, kept.id], categories: [['lamps', 2], ['fakes', 1]] }, 'back in the catalog and its counts')
  t.equal((await moderate(w, product.id, 'relist')).json().code, 'NOT_UNLISTED')
  t.equal(await drift(w.env), 0, 'every listed flag equals the on-sale rule')

  const trail = await w.env.app.inject({ method: 'GET', url: `/admin/products/${product.id}/moderation`, headers: w.admin.headers })
  t.same(trail.json().items.map((e: any) => [e.action, e.reason, e.actorId]), [
    ['unlist', reason, w.admin.userId],
    ['relist', 'The vendor proved the goods genuine', w.admin.userId]
  ], 'the audit trail: who, what and why, in order')
  const row = await w.env.app.db.selectFrom('products').select(['updatedBy', 'unlistedAt', 'unlistedReason']).where('id', '=', product.id).executeTakeFirstOrThrow()
  t.same(row, { updatedBy: w.admin.userId, unlistedAt: null, unlistedReason: null }, 'audit columns name the admin')
  const unlistedOnly = await w.env.app.inject({ method: 'GET', url: '/admin/products?unlisted=true', headers: w.admin.headers })
  t.same(unlistedOnly.json().items, [], 'the unlisted filter')
})

t.test('moderation without a reason, by a non-admin, or of an unknown product changes nothing', async (t) => {
  const w = await world(t)
  const store = w.stores[0]!
  const product = await createProduct(w.env, store)
  const cases: Array<[string, Promise<any>, number, string?]> = [
    ['no reason', moderate(w, product.id, 'unlist', {}), 400, '/body/reason'],
    ['an empty reason', moderate(w, product.id, 'unlist', { reason: '' }), 400, '/body/reason'],
    ['a reason with NUL', moderate(w, product.id, 'unlist', { reason: 'a\u0000b' }), 400, '/body/reason'],
    ['a bad id', w.env.app.inject({ method: 'POST', url: '/admin/products/nope/unlist', headers: w.admin.headers, payload: { reason: 'x' } }), 400, '/params/id'],
    ['an unknown product', moderate(w, store.workspaceId, 'unlist'), 404],
    ['its vendor', moderate(w, product.id, 'unlist', { reason: 'x' }, store.owner.headers), 403],
    ['its vendor relisting', moderate(w, product.id, 'relist', { reason: 'x' }, store.owner.headers), 403]
  ]
  for (const [name, pending, status, pointer] of cases) {
    const res = await pending
    t.equal(res.statusCode, status, name)
    if (pointer) t.match(res.json().errors, [{ pointer }], `${name} names ${pointer}`)
  }
  t.same((await catalog(w.env)).ids, [product.id], 'still listed')
  t.equal(Number((await w.env.app.db.selectFrom('productModeration').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n), 0, 'nothing in the trail')
})

t.test('unlists and relists racing vendor edits and a suspension leave every listed flag equal to the rule', async (t) => {
  const w = await world(t)
  const store = w.stores[0]!
  const products = []
  for (let i = 0; i < 6; i++) products.push(await createProduct(w.env, store, { title: `Raced ${i}`, categories: ['raced', `raced-${i % 2}`] }))
  for (let round = 0; round < 3; round++) {
    const answers = await Promise.all([
      ...products.map((p) => moderate(w, p.id, 'unlist')),
      ...products.map((p, i) => w.env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}/products/${p.id}`, headers: store.owner.headers, payload: { isActive: (i + round) % 2 === 0 } })),
      w.env.app.inject({ method: 'PATCH', url: `/users/${store.ownerId}/status`, headers: w.admin.headers, payload: { status: round % 2 === 0 ? 'suspended' : 'active' } })
    ])
    t.ok(answers.slice(0, 6).every((a) => a.statusCode === 200), `round ${round}: every unlist answered 200`)
    t.equal(await drift(w.env), 0, `round ${round}: no listed flag differs from the rule`)
    await Promise.all(products.map((p) => moderate(w, p.id, 'relist')))
    t.equal(await drift(w.env), 0, `round ${round}, relisted: none differs`)
    // The suspension ended the owner's sessions: sign in again for the next round.
    await w.env.app.inject({ method: 'PATCH', url: `/users/${store.ownerId}/status`, headers: w.admin.headers, payload: { status: 'active' } })
    store.owner = await login(w.env.app, (await w.env.app.db.selectFrom('users').select('email').where('id', '=', store.ownerId).executeTakeFirstOrThrow()).email)
  }
  const { rows: recount } = await sql<{ name: string, count: number }>`select c.name, count(*)::int as count from products p
    cross join unnest(p.categories) as c(name) where p.listed group by c.name order by count desc, c.name`.execute(w.env.app.db)
  t.same((await catalog(w.env)).categories, recount.map((r) => [r.name, r.count]), 'GET /categories equals a recount')
  const trail = await w.env.app.db.selectFrom('productModeration').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(trail.n), 36, 'every move is in the trail')
})

t.test('the same move asked four times at once is made once: one 200, three 409, one entry in the trail', async (t) => {
  const w = await world(t)
  const store = w.stores[0]!
  const product = await createProduct(w.env, store, { title: 'Contested' })
  for (const [action, refusal] of [['unlist', 'ALREADY_UNLISTED'], ['relist', 'NOT_UNLISTED']] as const) {
    const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => moderate(w, product.id, action, { reason: `${action} ${i}` })))
    t.same(answers.map((a) => a.statusCode).sort(), [200, 409, 409, 409], `${action}: one made, three refused`)
    t.ok(answers.filter((a) => a.statusCode === 409).every((a) => a.json().code === refusal), `the refusals say ${refusal}`)
  }
  const trail = await w.env.app.inject({ method: 'GET', url: `/admin/products/${product.id}/moderation`, headers: w.admin.headers })
  t.same(trail.json().items.map((e: any) => e.action), ['unlist', 'relist'], 'one entry per move made')
  t.equal(await drift(w.env), 0, 'every listed flag equals the on-sale rule')
})
