import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { createUser, login } from '../../helpers/auth.ts'
import { addToCart, approvedStore, checkout, createProduct, shopper, type Store } from '../../helpers/commerce.ts'

// Catalog visibility is one rule (products' onSale): a product is sellable only while it is
// active and not deleted, its workspace is live, and the workspace owner is an active, not
// deleted user with an approved vendor profile. Each way a vendor stops qualifying takes their
// products out of the catalog, the cart and checkout at once.

type Suspension = { name: string, apply: (env: TestEnv, store: Store) => Promise<unknown>, undo: (env: TestEnv, store: Store) => Promise<unknown> }

const suspensions: Suspension[] = [
  {
    name: 'the owner user is suspended',
    apply: (env, store) => env.app.db.updateTable('users').set({ status: 'suspended' }).where('id', '=', store.ownerId).execute(),
    undo: (env, store) => env.app.db.updateTable('users').set({ status: 'active' }).where('id', '=', store.ownerId).execute()
  },
  {
    name: 'the owner user is inactive',
    apply: (env, store) => env.app.db.updateTable('users').set({ status: 'inactive' }).where('id', '=', store.ownerId).execute(),
    undo: (env, store) => env.app.db.updateTable('users').set({ status: 'active' }).where('id', '=', store.ownerId).execute()
  },
  {
    name: 'the owner user is deleted',
    apply: (env, store) => env.app.db.updateTable('users').set({ deletedAt: new Date() }).where('id', '=', store.ownerId).execute(),
    undo: (env, store) => env.app.db.updateTable('users').set({ deletedAt: null }).where('id', '=', store.ownerId).execute()
  },
  {
    name: 'the vendor profile goes back to pending review',
    apply: (env, store) => env.app.db.updateTable('vendorProfiles').set({ reviewStatus: 'pending' }).where('userId', '=', store.ownerId).execute(),
    undo: (env, store) => env.app.db.updateTable('vendorProfiles').set({ reviewStatus: 'approved' }).where('userId', '=', store.ownerId).execute()
  },
  {
    name: 'the vendor profile is rejected',
    apply: (env, store) => env.app.db.updateTable('vendorProfiles').set({ reviewStatus: 'rejected' }).where('userId', '=', store.ownerId).execute(),
    undo: (env, store) => env.app.db.updateTable('vendorProfiles').set({ reviewStatus: 'approved' }).where('userId', '=', store.ownerId).execute()
  },
  {
    name: 'the workspace is deleted',
    apply: (env, store) => env.app.db.updateTable('workspaces').set({ deletedAt: new Date() }).where('id', '=', store.workspaceId).execute(),
    undo: (env, store) => env.app.db.updateTable('workspaces').set({ deletedAt: null }).where('id', '=', store.workspaceId).execute()
  }
]

t.test('a vendor who stops qualifying stops selling at once: not listed, not addable, checkout refuses', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { title: 'Velvet scarf', keywords: ['velvet'], variants: [{ stock: 10 }] })
  const variantId = product.variants[0].id as string
  const listed = async () => (await env.app.inject({ method: 'GET', url: `/products?workspaceId=${store.workspaceId}` })).json().items.map((p: { id: string }) => p.id)
  const stockOf = async () => (await env.app.db.selectFrom('productVariants').select('stock').where('id', '=', variantId).executeTakeFirstOrThrow()).stock

  t.same(await listed(), [product.id], 'listed while the vendor qualifies')

  for (const suspension of suspensions) {
    await t.test(suspension.name, async (t) => {
      const buyer = await shopper(env)
      const early = await shopper(env)
      t.equal((await addToCart(env, early, variantId, 2)).statusCode, 200, 'added while still on sale')

      await suspension.apply(env, store)
      try {
        t.same(await listed(), [], 'not in the catalog list')
        const search = await env.app.inject({ method: 'GET', url: '/products?q=velvet' })
        t.same(search.json().items, [], 'not found by search')
        t.equal((await env.app.inject({ method: 'GET', url: `/products/${product.id}` })).statusCode, 404, 'the product page is 404')
        const categories = await env.app.inject({ method: 'GET', url: '/categories' })
        t.same(categories.json().items, [], 'no categories counted for it')

        const added = await addToCart(env, buyer, variantId, 1)
        t.equal(added.statusCode, 404, 'cannot be added to a cart')
        t.equal(added.json().code, 'NOT_FOUND')
        t.same(await env.app.db.selectFrom('cartItems').select('id').where('userId', '=', buyer.id).execute(), [], 'the cart stays empty')

        const cart = await env.app.inject({ method: 'GET', url: '/cart', headers: early.session.headers })
        t.equal(cart.json().items[0].available, false, 'the line already in a cart shows it is no longer available')

        const stock = await stockOf()
        const refused = await checkout(env, early)
        t.equal(refused.statusCode, 409, 'checkout with it in the cart is refused')
        t.equal(refused.json().code, 'PRODUCT_UNAVAILABLE')
        t.same(refused.json().variantIds, [variantId])
        t.equal(await stockOf(), stock, 'no stock taken')
        t.same(await env.app.db.selectFrom('orders').select('id').where('userId', '=', early.id).execute(), [], 'no order made')
      } finally {
        await suspension.undo(env, store)
      }
      t.same(await listed(), [product.id], 'listed again once the vendor qualifies again')
      await env.app.db.deleteFrom('cartItems').where('userId', '=', early.id).execute()
    })
  }
})

t.test('an inactive or deleted product of a qualifying vendor is off sale too', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { variants: [{ stock: 10 }] })
  const buyer = await shopper(env)
  t.equal((await addToCart(env, buyer, product.variants[0].id, 1)).statusCode, 200)
  await env.app.db.updateTable('products').set({ isActive: false }).where('id', '=', product.id).execute()
  t.equal((await env.app.inject({ method: 'GET', url: `/products/${product.id}` })).statusCode, 404)
  const refused = await checkout(env, buyer)
  t.equal(refused.statusCode, 409)
  t.equal(refused.json().code, 'PRODUCT_UNAVAILABLE')
})

t.test('suspending the vendor through the admin routes stops their sales; reactivating restores them', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { variants: [{ stock: 10 }] })
  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  const buyer = await shopper(env)
  t.equal((await addToCart(env, buyer, product.variants[0].id, 1)).statusCode, 200)
  const setStatus = (status: string) => env.app.inject({ method: 'PATCH', url: `/users/${store.ownerId}/status`, headers: admin.headers, payload: { status } })
  const page = () => env.app.inject({ method: 'GET', url: `/products/${product.id}` })

  t.equal((await setStatus('suspended')).statusCode, 200)
  t.equal((await page()).statusCode, 404, 'off the catalog at once')
  t.equal((await addToCart(env, buyer, product.variants[0].id, 1)).statusCode, 404, 'not addable')
  const refused = await checkout(env, buyer)
  t.equal(refused.statusCode, 409)
  t.equal(refused.json().code, 'PRODUCT_UNAVAILABLE')

  t.equal((await setStatus('active')).statusCode, 200)
  t.equal((await page()).statusCode, 200, 'back once active again')

  const profile = await env.app.db.selectFrom('vendorProfiles').select('id').where('userId', '=', store.ownerId).executeTakeFirstOrThrow()
  const reject = await env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${profile.id}/review`, headers: admin.headers, payload: { status: 'rejected', reason: 'Licence expired' } })
  t.equal(reject.statusCode, 200)
  t.equal((await page()).statusCode, 404, 'a rejected profile stops sales too')
  const again = await checkout(env, buyer)
  t.equal(again.statusCode, 409)
  t.equal(again.json().code, 'PRODUCT_UNAVAILABLE')
  t.same(await env.app.db.selectFrom('orders').select('id').where('userId', '=', buyer.id).execute(), [], 'no order was made')
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
