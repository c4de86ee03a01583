import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { createUser, login, type SignedIn } from '../../helpers/auth.ts'
import { addToCart, approvedStore, checkout, createProduct, shopper, type Store } from '../../helpers/commerce.ts'
import { onSale } from '../../../src/modules/products/public.ts'

// Catalog visibility is one rule (products' onSale): a product is sellable only while it is
// active and not deleted, its workspace is live, and the workspace owner is an active, not
// deleted user with an approved vendor profile. The catalog reads the rule's stored copy (the
// `listed` flag and the category counts, kept in step by the writes that change an input), the
// cart and checkout the rule itself. Each change, made the way the product makes it (its routes),
// takes the vendor's products out of the catalog, the cart and checkout at the next request,
// and undoing it brings them back.

/** A store with one product, whose keyword and category are its own (cases share the database). */
interface World { env: TestEnv, store: Store, admin: SignedIn, tag: string, product: { id: string, variantId: string } }

async function world (env: TestEnv): Promise<World> {
  const store = await approvedStore(env)
  const tag = `velvet${randomBytes(3).toString('hex')}`
  const created = await createProduct(env, store, { title: 'Velvet scarf', keywords: [tag], categories: [tag], variants: [{ stock: 10 }] })
  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  return { env, store, admin, tag, product: { id: created.id, variantId: created.variants[0].id } }
}

/** Products whose listed flag differs from the rule (none, ever). */
async function drift (env: TestEnv): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from products p where p.listed <> ${onSale('p')}`.execute(env.app.db)
  return rows[0]!.n
}

const profileId = async (w: World) =>
  (await w.env.app.db.selectFrom('vendorProfiles').select('id').where('userId', '=', w.store.ownerId).where('deletedAt', 'is', null).executeTakeFirstOrThrow()).id

/** Sends a request that must succeed (2xx). */
async function must (w: World, method: 'PATCH' | 'DELETE' | 'POST', url: string, headers: Record<string, string>, payload?: object) {
  const res = await w.env.app.inject({ method, url, headers, ...(payload ? { payload } : {}) })
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
  return res
}

const setStatus = (w: World, status: string) => must(w, 'PATCH', `/users/${w.store.ownerId}/status`, w.admin.headers, { status })
const review = async (w: World, status: 'approved' | 'rejected') => must(w, 'PATCH', `/vendor-profiles/${await profileId(w)}/review`, w.admin.headers, status === 'rejected' ? { status, reason: 'Licence expired' } : { status })
/** Suspending the owner ended their sessions: sign in again for the owner's own writes. */
async function relogin (w: World): Promise<void> {
  const email = (await w.env.app.db.selectFrom('users').select('email').where('id', '=', w.store.ownerId).executeTakeFirstOrThrow()).email
  w.store.owner = await login(w.env.app, email)
}

/** What the public catalog shows of the product: in the list, by search, by id, counted in its category. */
async function catalogView (w: World) {
  const { app } = w.env
  const list = (await app.inject({ method: 'GET', url: `/products?workspaceId=${w.store.workspaceId}` })).json().items.map((p: { id: string }) => p.id)
  const search = (await app.inject({ method: 'GET', url: `/products?q=${w.tag}` })).json().items.map((p: { id: string }) => p.id)
  const page = (await app.inject({ method: 'GET', url: `/products/${w.product.id}` })).statusCode
  const categories = (await app.inject({ method: 'GET', url: '/categories' })).json().items.filter((c: { slug: string }) => c.slug === w.tag).map((c: { slug: string, count: number }) => ({ slug: c.slug, count: c.count }))
  return { list, search, page, categories }
}
const shown = (w: World) => ({ list: [w.product.id], search: [w.product.id], page: 200, categories: [{ slug: w.tag, count: 1 }] })
const hidden = { list: [], search: [], page: 404, categories: [] }

/** Off sale for the cart and checkout too (the full rule, not the catalog's copy). */
async function offSale (t: Test, w: World) {
  const early = await shopper(w.env)
  await w.env.app.db.insertInto('cartItems').values({ id: w.env.app.random.uuid(), userId: early.id, variantId: w.product.variantId, quantity: 1 }).execute()
  const added = await addToCart(w.env, await shopper(w.env), w.product.variantId, 1)
  t.equal(added.statusCode, 404, 'cannot be added to a cart')
  const refused = await checkout(w.env, early)
  t.equal(refused.statusCode, 409, 'checkout with it in the cart is refused')
  t.equal(refused.json().code, 'PRODUCT_UNAVAILABLE')
}

type Change = { name: string, apply: (w: World) => Promise<unknown>, undo?: (w: World) => Promise<unknown> }

const changes: Change[] = [
  { name: 'the owner is suspended', apply: (w) => setStatus(w, 'suspended'), undo: async (w) => { await setStatus(w, 'active'); await relogin(w) } },
  { name: 'the owner is deactivated', apply: (w) => setStatus(w, 'inactive'), undo: async (w) => { await setStatus(w, 'active'); await relogin(w) } },
  { name: 'the owner is deleted', apply: (w) => must(w, 'DELETE', `/users/${w.store.ownerId}`, w.admin.headers) },
  { name: 'the vendor profile is rejected', apply: (w) => review(w, 'rejected'), undo: (w) => review(w, 'approved') },
  {
    name: 'the vendor profile\'s approval is revoked (a legal-identity edit sends it back to review)',
    apply: async (w) => must(w, 'PATCH', `/vendor-profiles/${await profileId(w)}`, w.store.owner.headers, { businessName: 'Renamed Ltd' }),
    undo: (w) => review(w, 'approved')
  },
  { name: 'the vendor profile is deleted', apply: async (w) => must(w, 'DELETE', `/vendor-profiles/${await profileId(w)}`, w.store.owner.headers) },
  { name: 'the workspace is deleted', apply: (w) => must(w, 'DELETE', `/workspaces/${w.store.workspaceId}`, w.store.owner.headers) },
  {
    name: 'the workspace is handed to a member who is no vendor',
    apply: async (w) => {
      const customer = await createUser(w.env, { type: 'customer' })
      await w.env.app.db.insertInto('workspaceMembers').values({ workspaceId: w.store.workspaceId, userId: customer.id, role: 'member' }).execute()
      await must(w, 'POST', `/workspaces/${w.store.workspaceId}/transfer-ownership`, w.store.owner.headers, { userId: customer.id })
      return customer
    },
    // The new owner hands it back (their sign-in is recent).
    undo: async (w) => {
      const owner = await w.env.app.db.selectFrom('workspaces').innerJoin('users', 'users.id', 'workspaces.ownerId').select('users.email').where('workspaces.id', '=', w.store.workspaceId).executeTakeFirstOrThrow()
      await must(w, 'POST', `/workspaces/${w.store.workspaceId}/transfer-ownership`, (await login(w.env.app, owner.email)).headers, { userId: w.store.ownerId })
    }
  },
  {
    name: 'the product is deactivated',
    apply: (w) => must(w, 'PATCH', `/workspaces/${w.store.workspaceId}/products/${w.product.id}`, w.store.owner.headers, { isActive: false }),
    undo: (w) => must(w, 'PATCH', `/workspaces/${w.store.workspaceId}/products/${w.product.id}`, w.store.owner.headers, { isActive: true })
  },
  { name: 'the product is deleted', apply: (w) => must(w, 'DELETE', `/workspaces/${w.store.workspaceId}/products/${w.product.id}`, w.store.owner.headers) }
]

t.test('each change to an input of the on-sale rule takes the product out of the catalog, the cart and checkout at once, and undoing it brings it back', async (t) => {
  const env = await createTestEnv(t)
  for (const change of changes) {
    await t.test(change.name, async (t) => {
      const w = await world(env)
      t.same(await catalogView(w), shown(w), 'listed while the vendor qualifies')
      await change.apply(w)
      t.same(await catalogView(w), hidden, 'not listed, not found by search, 404 by id, not counted in its category')
      await offSale(t, w)
      if (change.undo) {
        await change.undo(w)
        t.same(await catalogView(w), shown(w), 'listed again once undone')
        const buyer = await shopper(env)
        t.equal((await addToCart(env, buyer, w.product.variantId, 1)).statusCode, 200, 'and buyable again')
      }
      t.equal(await drift(env), 0, 'every product\'s listed flag matches the rule (checked in the database)')
    })
  }
})

t.test('a product inactive from the start, or of a vendor not yet approved, is never listed; approval lists it', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env, { approved: false })
  const draft = await createProduct(env, store, { title: 'Draft lamp', isActive: false, categories: ['lamps'] })
  const ready = await createProduct(env, store, { title: 'Ready lamp', categories: ['lamps'] })
  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  const listed = async () => (await env.app.inject({ method: 'GET', url: '/products' })).json().items.map((p: { id: string }) => p.id)
  t.same(await listed(), [], 'nothing listed before approval')
  const profile = await env.app.db.selectFrom('vendorProfiles').select('id').where('userId', '=', store.ownerId).executeTakeFirstOrThrow()
  t.equal((await env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${profile.id}/review`, headers: admin.headers, payload: { status: 'approved' } })).statusCode, 200)
  t.same(await listed(), [ready.id], 'approval lists the active product, not the draft')
  t.same((await env.app.inject({ method: 'GET', url: '/categories' })).json().items, [{ slug: 'lamps', name: 'lamps', parent: null, count: 1 }])
  t.equal((await env.app.inject({ method: 'GET', url: `/products/${draft.id}` })).statusCode, 404)
})

t.test('a suspended vendor\'s lines already in a cart show as unavailable and leave the cart totals', async (t) => {
  const env = await createTestEnv(t)
  const kept = await approvedStore(env)
  const suspended = await approvedStore(env)
  const keep = await createProduct(env, kept, { price: 1000, variants: [{ stock: 10 }] })
  const lose = await createProduct(env, suspended, { price: 700, variants: [{ stock: 10 }] })
  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  const buyer = await shopper(env)
  t.equal((await addToCart(env, buyer, keep.variants[0].id, 2)).statusCode, 200)
  t.equal((await addToCart(env, buyer, lose.variants[0].id, 3)).statusCode, 200)
  const cartOf = async () => (await env.app.inject({ method: 'GET', url: '/cart', headers: buyer.session.headers })).json()
  t.same((await cartOf()).totals, [{ amount: 2000 + 2100, currency: 'usd' }], 'both count while both sell')

  t.equal((await env.app.inject({ method: 'PATCH', url: `/users/${suspended.ownerId}/status`, headers: admin.headers, payload: { status: 'suspended' } })).statusCode, 200)
  const cart = await cartOf()
  t.match(cart.items, [{ variantId: keep.variants[0].id, available: true }, { variantId: lose.variants[0].id, available: false }], 'the suspended vendor\'s line is unavailable')
  t.same(cart.totals, [{ amount: 2000, currency: 'usd' }], 'the totals count only what is on sale')

  t.equal((await env.app.inject({ method: 'DELETE', url: `/cart/items/${cart.items[1].id}`, headers: buyer.session.headers })).statusCode, 204)
  const placed = await checkout(env, buyer)
  t.equal(placed.statusCode, 201, placed.body)
  t.same(placed.json().total, { amount: 2000, currency: 'usd' }, 'checkout charges what the cart showed')
})

t.test('a suspended or deleted vendor\'s profile leaves public view with their products; admins still see it', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  const customer = await login(env.app, (await createUser(env)).email)
  const profile = await env.app.db.selectFrom('vendorProfiles').select('id').where('userId', '=', store.ownerId).executeTakeFirstOrThrow()
  const views = async (headers: Record<string, string>) => [
    (await env.app.inject({ method: 'GET', url: `/vendor-profiles/${profile.id}`, headers })).statusCode,
    (await env.app.inject({ method: 'GET', url: `/vendor-profiles/by-user/${store.ownerId}`, headers })).statusCode,
    (await env.app.inject({ method: 'GET', url: '/vendor-profiles', headers })).json().items.map((p: { id: string }) => p.id)
  ]
  t.same(await views({}), [200, 200, [profile.id]], 'public while the vendor is active')
  const suspended = await env.app.inject({ method: 'PATCH', url: `/users/${store.ownerId}/status`, headers: admin.headers, payload: { status: 'suspended' } })
  t.equal(suspended.statusCode, 200)
  t.same(await views({}), [404, 404, []], 'hidden from anonymous callers once suspended')
  t.same(await views(customer.headers), [404, 404, []], 'and from customers')
  t.same(await views(admin.headers), [200, 200, [profile.id]], 'admins still see it')
  await env.app.inject({ method: 'PATCH', url: `/users/${store.ownerId}/status`, headers: admin.headers, payload: { status: 'active' } })
  t.same(await views({}), [200, 200, [profile.id]], 'back once active')
  t.equal((await env.app.inject({ method: 'DELETE', url: `/users/${store.ownerId}`, headers: admin.headers })).statusCode, 204)
  t.same(await views({}), [404, 404, []], 'hidden once the vendor is deleted')
})
