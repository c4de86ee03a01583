import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { createTestEnv, type TestEnv, type TestEnvOptions, type Tap } from '../../helpers/app.ts'
import { createUser, login, type SignedIn } from '../../helpers/auth.ts'
import { addToCart, approvedStore, checkout, createProduct, ensureCategories, shopper, type Store } from '../../helpers/commerce.ts'
import { multipart, PDF, PNG, WEBP } from '../../helpers/multipart.ts'
import { loadConfig } from '../../../src/config.ts'
import { ManualClock } from '../../../src/platform/clock.ts'
import { PublicReadCache, PUBLIC_CACHE_CONTROL } from '../../../src/platform/http-cache.ts'

// The API keeps the public catalog's answers in memory (src/platform/http-cache.ts): a repeated
// read runs no SQL and answers byte for byte as an uncached one would. Every write that changes a
// public view invalidates it before its own response leaves, so the next read shows the change;
// a read that raced a write is never kept; writes made elsewhere (the worker, another copy of the
// API) show within CATALOG_CACHE_TTL_MS.

type Counted = LightMyRequestResponse & { statements: number }

interface CacheEnv {
  env: TestEnv
  /** A GET, with how many SQL statements it ran. */
  get: (url: string, headers?: Record<string, string>) => Promise<Counted>
  /** Holds the next SQL statement, after it ran and before its rows reach the app. */
  holdNextStatement: () => { reached: Promise<void>, release: () => void }
}

async function cacheEnv (t: Tap, options: TestEnvOptions = {}): Promise<CacheEnv> {
  let statements = 0
  let hold: { reached: () => void, released: Promise<void> } | null = null
  const env = await createTestEnv(t, {
    ...options,
    // Kysely awaits its log callback once a statement has run: a promise here holds the rows.
    onQuery: () => {
      statements++
      const held = hold
      hold = null
      if (!held) return
      held.reached()
      return held.released as unknown as void
    }
  })
  return {
    env,
    get: async (url, headers = {}) => {
      const before = statements
      const res = await env.app.inject({ method: 'GET', url, headers })
      return Object.assign(res, { statements: statements - before })
    },
    holdNextStatement: () => {
      let reached!: () => void
      let release!: () => void
      const reachedPromise = new Promise<void>((resolve) => { reached = resolve })
      const released = new Promise<void>((resolve) => { release = resolve })
      hold = { reached, released }
      return { reached: reachedPromise, release }
    }
  }
}

/** Headers that are per request by design: the request id, the rate-limit counter, the date. */
const PER_REQUEST = new Set(['x-request-id', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'date'])
const stableHeaders = (res: LightMyRequestResponse) => Object.fromEntries(Object.entries(res.headers).filter(([name]) => !PER_REQUEST.has(name)))

t.test('a repeated catalog read is answered from memory: no SQL, the same bytes and headers as the uncached answer', async (t) => {
  const { env, get } = await cacheEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { title: 'Cached teapot', categories: ['cached-kitchen'], variants: [{ stock: 5 }] })
  const origin = env.config.corsOrigins[0]!

  for (const url of [`/products/${product.id}`, '/products?q=teapot&limit=20', `/products?workspaceId=${store.workspaceId}`, '/categories']) {
    const first = await get(url, { origin, 'x-request-id': 'first-read' })
    t.equal(first.statusCode, 200, url)
    t.ok(first.statements > 0, `${url}: the first read asks Postgres`)
    const second = await get(url, { origin, 'x-request-id': 'second-read' })
    t.equal(second.statusCode, 200)
    t.equal(second.statements, 0, `${url}: the second runs no SQL`)
    t.same(second.rawPayload, first.rawPayload, `${url}: the same bytes`)
    t.same(stableHeaders(second), stableHeaders(first), `${url}: the same headers (ETag, Cache-Control, content type and length, security, CORS)`)
    t.equal(second.headers['x-request-id'], 'second-read', 'its own request id')
    t.equal(second.headers['x-frame-options'], 'DENY', 'the security headers')
    t.equal(second.headers['access-control-allow-origin'], origin, 'CORS for this caller\'s origin')
    t.equal(Number(second.headers['x-ratelimit-remaining']), Number(first.headers['x-ratelimit-remaining']) - 1, 'and it counts against the rate limit')
    t.equal(second.headers['cache-control'], PUBLIC_CACHE_CONTROL)

    const foreign = await get(url, { origin: 'https://elsewhere.example' })
    t.equal(foreign.statements, 0)
    t.equal(foreign.headers['access-control-allow-origin'], undefined, 'another origin gets no CORS allowance from a cached answer')
    const signedIn = await get(url, { ...store.owner.headers, cookie: 'access_token=whatever' })
    t.equal(signedIn.statements, 0, 'credentials change nothing on a public route: the same entry')
    t.same(signedIn.rawPayload, first.rawPayload)
    t.equal(signedIn.headers['set-cookie'], undefined)
    const head = await env.app.inject({ method: 'HEAD', url })
    t.equal(head.statusCode, 200, 'HEAD is answered too')
    t.equal(head.body, '')
  }

  const unknown = `/products/${randomUUID()}`
  t.equal((await get(unknown)).statusCode, 404)
  const again = await get(unknown)
  t.equal(again.statusCode, 404)
  t.ok(again.statements > 0, 'a 404 is not kept')
  const invalid = await get('/products?limit=1000')
  t.equal(invalid.statusCode, 400)
  t.equal((await get('/products?limit=1000')).statusCode, 400, 'nor is a 400')

  const inactive = await createProduct(env, store, { title: 'Hidden kettle', isActive: false })
  for (const headers of [{}, store.owner.headers]) {
    const res = await get(`/products/${inactive.id}`, headers)
    t.equal(res.statusCode, 404, 'an inactive product is not public, even to its vendor')
  }
})

t.test('If-None-Match on a cached answer: 304 without SQL; another ETag gets the body', async (t) => {
  const { env, get } = await cacheEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store)
  const url = `/products/${product.id}`
  const first = await get(url)
  const etag = first.headers.etag as string
  t.match(etag, /^W\/".+"$/)

  const notModified = await get(url, { 'if-none-match': etag })
  t.equal(notModified.statusCode, 304)
  t.equal(notModified.statements, 0, 'answered from memory')
  t.equal(notModified.body, '')
  t.equal(notModified.headers.etag, etag)
  t.equal(notModified.headers['cache-control'], PUBLIC_CACHE_CONTROL)
  const other = await get(url, { 'if-none-match': 'W/"something-else"' })
  t.equal(other.statusCode, 200)
  t.equal(other.statements, 0)
  t.same(other.rawPayload, first.rawPayload)

  // A CDN revalidating after a write emptied the cache: it gets its 304, and the answer is kept.
  await createProduct(env, store)
  const revalidated = await get(url, { 'if-none-match': etag })
  t.equal(revalidated.statusCode, 304, 'this product did not change')
  t.ok(revalidated.statements > 0, 'read again after the write')
  const after = await get(url)
  t.equal(after.statements, 0, 'and kept, though the client got a 304')
  t.same(after.rawPayload, first.rawPayload)
  t.equal(after.headers.etag, etag)
})

interface Scene {
  env: TestEnv
  admin: SignedIn
  store: Store
  product: any
  profileId: string
  buyer?: Awaited<ReturnType<typeof shopper>>
  orderId?: string
  imageIds?: string[]
  memberId?: string
}

interface Views { product: Counted, list: Counted, categories: Counted }

interface WriteCase {
  name: string
  approved?: boolean
  prepare?: (scene: Scene) => Promise<void>
  write: (scene: Scene) => Promise<LightMyRequestResponse>
  check: (t: any, views: Views, scene: Scene) => void
}

const imageUpload = (scene: Scene, count: number) => {
  const body = multipart(Array.from({ length: count }, (_, i) => ({ field: 'images', filename: `${i}.png`, contentType: 'image/png', content: i % 2 ? WEBP : PNG })))
  return scene.env.app.inject({ method: 'POST', url: `/workspaces/${scene.store.workspaceId}/products/${scene.product.id}/images`, headers: { ...scene.store.owner.headers, ...body.headers }, payload: body.payload })
}

async function placeOrder (scene: Scene): Promise<void> {
  scene.buyer = await shopper(scene.env)
  await addToCart(scene.env, scene.buyer, scene.product.variants[0].id, 2)
  const placed = await checkout(scene.env, scene.buyer)
  if (placed.statusCode !== 201) throw new Error(`checkout failed: ${placed.statusCode} ${placed.body}`)
  scene.orderId = placed.json().orders[0].id
}

const gone = (t: any, views: Views, scene: Scene) => {
  t.equal(views.product.statusCode, 404, 'the product page is gone')
  t.same(views.list.json().items, [], 'the list no longer shows it')
  t.notOk(views.categories.json().items.some((c: { slug: string }) => c.slug === scene.product.categories[0]), 'nor do the categories')
}
const back = (t: any, views: Views, scene: Scene) => {
  t.equal(views.product.statusCode, 200, 'the product page is back')
  t.same(views.list.json().items.map((p: { id: string }) => p.id), [scene.product.id])
}
const stockIs = (stock: number) => (t: any, views: Views) => {
  t.equal(views.product.json().variants[0].stock, stock, `the product shows stock ${stock}`)
  t.equal(views.list.json().items[0].variants[0].stock, stock, 'so does the list')
}

const asOwner = (scene: Scene) => scene.store.owner.headers
const asAdmin = (scene: Scene) => scene.admin.headers

const WRITES: WriteCase[] = [
  {
    name: 'a product edit',
    write: (s) => s.env.app.inject({ method: 'PATCH', url: `/workspaces/${s.store.workspaceId}/products/${s.product.id}`, headers: asOwner(s), payload: { price: { amount: 3100, currency: 'usd' } } }),
    check: (t, views) => { t.equal(views.product.json().price.amount, 3100); t.equal(views.list.json().items[0].price.amount, 3100) }
  },
  {
    name: 'a new product in a new category',
    prepare: (s) => ensureCategories(s.env, ['brand-new-category']),
    write: (s) => s.env.app.inject({ method: 'POST', url: `/workspaces/${s.store.workspaceId}/products`, headers: asOwner(s), payload: { title: 'Second', description: 'New.', price: { amount: 100, currency: 'usd' }, categories: ['brand-new-category'], variants: [{ sku: `N-${randomUUID()}`, stock: 1 }] } }),
    check: (t, views) => {
      t.equal(views.list.json().items.length, 2, 'the list shows it')
      t.ok(views.categories.json().items.some((c: { slug: string }) => c.slug === 'brand-new-category'), 'and its category')
    }
  },
  {
    name: 'a product deactivated',
    write: (s) => s.env.app.inject({ method: 'PATCH', url: `/workspaces/${s.store.workspaceId}/products/${s.product.id}`, headers: asOwner(s), payload: { isActive: false } }),
    check: gone
  },
  {
    name: 'a product deleted',
    write: (s) => s.env.app.inject({ method: 'DELETE', url: `/workspaces/${s.store.workspaceId}/products/${s.product.id}`, headers: asOwner(s) }),
    check: gone
  },
  {
    name: 'variants replaced',
    write: (s) => s.env.app.inject({ method: 'PATCH', url: `/workspaces/${s.store.workspaceId}/products/${s.product.id}`, headers: asOwner(s), payload: { variants: [{ size: 'S', sku: `S-${randomUUID()}`, stock: 1 }, { size: 'M', sku: `M-${randomUUID()}`, stock: 2 }] } }),
    check: (t, views) => t.same(views.product.json().variants.map((v: { size: string }) => v.size), ['S', 'M'])
  },
  {
    name: 'an image added',
    write: (s) => imageUpload(s, 1),
    check: (t, views) => { t.equal(views.product.json().images.length, 1); t.equal(views.list.json().items[0].images.length, 1) }
  },
  {
    name: 'images reordered',
    prepare: async (s) => { s.imageIds = (await imageUpload(s, 2)).json().images.map((i: { id: string }) => i.id) },
    write: (s) => s.env.app.inject({ method: 'PATCH', url: `/workspaces/${s.store.workspaceId}/products/${s.product.id}/images`, headers: asOwner(s), payload: { order: [...s.imageIds!].reverse() } }),
    check: (t, views, s) => t.same(views.product.json().images.map((i: { id: string }) => i.id), [...s.imageIds!].reverse())
  },
  {
    name: 'an image deleted',
    prepare: async (s) => { s.imageIds = (await imageUpload(s, 2)).json().images.map((i: { id: string }) => i.id) },
    write: (s) => s.env.app.inject({ method: 'DELETE', url: `/workspaces/${s.store.workspaceId}/products/${s.product.id}/images/${s.imageIds![0]}`, headers: asOwner(s) }),
    check: (t, views, s) => t.same(views.product.json().images.map((i: { id: string }) => i.id), [s.imageIds![1]])
  },
  {
    name: 'stock taken by a checkout',
    prepare: async (s) => { s.buyer = await shopper(s.env); await addToCart(s.env, s.buyer, s.product.variants[0].id, 2) },
    write: (s) => checkout(s.env, s.buyer!),
    check: stockIs(3)
  },
  {
    name: 'stock returned by the customer cancelling',
    prepare: placeOrder,
    write: (s) => s.env.app.inject({ method: 'POST', url: `/orders/${s.orderId}/cancel`, headers: s.buyer!.session.headers, payload: {} }),
    check: stockIs(5)
  },
  {
    name: 'stock returned by the workspace cancelling',
    prepare: placeOrder,
    write: (s) => s.env.app.inject({ method: 'PATCH', url: `/workspaces/${s.store.workspaceId}/orders/${s.orderId}/status`, headers: asOwner(s), payload: { status: 'cancelled' } }),
    check: stockIs(5)
  },
  {
    name: 'the vendor\'s approval revoked on review',
    write: (s) => s.env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${s.profileId}/review`, headers: asAdmin(s), payload: { status: 'rejected', reason: 'Documents expired.' } }),
    check: gone
  },
  {
    name: 'the vendor approved',
    approved: false,
    write: (s) => s.env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${s.profileId}/review`, headers: asAdmin(s), payload: { status: 'approved' } }),
    check: back
  },
  {
    name: 'the vendor\'s legal identity edited (back to review)',
    write: (s) => s.env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${s.profileId}`, headers: asOwner(s), payload: { businessName: 'Renamed Ltd' } }),
    check: gone
  },
  {
    name: 'a new registration certificate (back to review)',
    write: (s) => {
      const body = multipart([{ field: 'businessRegistrationCertificate', filename: 'c.pdf', contentType: 'application/pdf', content: PDF }])
      return s.env.app.inject({ method: 'PUT', url: `/vendor-profiles/${s.profileId}/files`, headers: { ...asOwner(s), ...body.headers }, payload: body.payload })
    },
    check: gone
  },
  {
    name: 'the vendor profile deleted',
    write: (s) => s.env.app.inject({ method: 'DELETE', url: `/vendor-profiles/${s.profileId}`, headers: asOwner(s) }),
    check: gone
  },
  {
    name: 'the owner suspended',
    write: (s) => s.env.app.inject({ method: 'PATCH', url: `/users/${s.store.ownerId}/status`, headers: asAdmin(s), payload: { status: 'suspended' } }),
    check: gone
  },
  {
    name: 'the owner reinstated',
    prepare: async (s) => { await s.env.app.inject({ method: 'PATCH', url: `/users/${s.store.ownerId}/status`, headers: asAdmin(s), payload: { status: 'suspended' } }) },
    write: (s) => s.env.app.inject({ method: 'PATCH', url: `/users/${s.store.ownerId}/status`, headers: asAdmin(s), payload: { status: 'active' } }),
    check: back
  },
  {
    name: 'a platform admin unlists the product',
    write: (s) => s.env.app.inject({ method: 'POST', url: `/admin/products/${s.product.id}/unlist`, headers: asAdmin(s), payload: { reason: 'counterfeit' } }),
    check: gone
  },
  {
    name: 'a platform admin relists it',
    prepare: async (s) => { await s.env.app.inject({ method: 'POST', url: `/admin/products/${s.product.id}/unlist`, headers: asAdmin(s), payload: { reason: 'counterfeit' } }) },
    write: (s) => s.env.app.inject({ method: 'POST', url: `/admin/products/${s.product.id}/relist`, headers: asAdmin(s), payload: { reason: 'genuine after all' } }),
    check: back
  },
  {
    name: 'a platform admin renames the product\'s category',
    write: async (s) => {
      const category = await s.env.app.db.selectFrom('categories').select('id').where('slug', '=', s.product.categories[0]).executeTakeFirstOrThrow()
      return s.env.app.inject({ method: 'PATCH', url: `/admin/categories/${category.id}`, headers: asAdmin(s), payload: { slug: `renamed-${randomUUID()}`, name: 'Renamed' } })
    },
    check: (t, views) => {
      t.match(views.product.json().categories, [/^renamed-/], 'the product carries the new slug')
      const slug = views.product.json().categories[0]
      t.same(views.categories.json().items.filter((c: { slug: string }) => c.slug === slug), [{ slug, name: 'Renamed', parent: null, count: 1 }], 'and the categories show it')
    }
  },
  {
    name: 'the owner\'s account deleted',
    write: (s) => s.env.app.inject({ method: 'DELETE', url: `/users/${s.store.ownerId}`, headers: asAdmin(s) }),
    check: gone
  },
  {
    name: 'the workspace deleted',
    write: (s) => s.env.app.inject({ method: 'DELETE', url: `/workspaces/${s.store.workspaceId}`, headers: asOwner(s) }),
    check: gone
  },
  {
    name: 'the workspace renamed (products carry their store)',
    write: (s) => s.env.app.inject({ method: 'PATCH', url: `/workspaces/${s.store.workspaceId}`, headers: asOwner(s), payload: { name: 'Renamed Lamps' } }),
    check: (t, views) => { t.equal(views.product.json().store.name, 'Renamed Lamps'); t.equal(views.list.json().items[0].store.name, 'Renamed Lamps') }
  },
  {
    name: 'a new workspace logo (products carry their store)',
    write: (s) => {
      const body = multipart([{ field: 'logo', filename: 'logo.png', contentType: 'image/png', content: PNG }])
      return s.env.app.inject({ method: 'PUT', url: `/workspaces/${s.store.workspaceId}/logo`, headers: { ...asOwner(s), ...body.headers }, payload: body.payload })
    },
    check: (t, views) => { t.match(views.product.json().store.logoUrl, /\/files\//); t.equal(views.list.json().items[0].store.logoUrl, views.product.json().store.logoUrl) }
  },
  {
    name: 'the workspace handed to a member who is no vendor',
    prepare: async (s) => {
      const member = await createUser(s.env)
      await s.env.app.db.insertInto('workspaceMembers').values({ workspaceId: s.store.workspaceId, userId: member.id, role: 'admin' }).execute()
      s.memberId = member.id
    },
    write: (s) => s.env.app.inject({ method: 'POST', url: `/workspaces/${s.store.workspaceId}/transfer-ownership`, headers: asOwner(s), payload: { userId: s.memberId } }),
    check: gone
  }
]

t.test('each write that changes a public view is visible to the very next read', async (t) => {
  const { env, get } = await cacheEnv(t)
  const adminUser = await createUser(env, { type: 'admin' })
  const admin = await login(env.app, adminUser.email)

  for (const write of WRITES) {
    await t.test(write.name, async (t) => {
      const store = await approvedStore(env, { approved: write.approved })
      const product = await createProduct(env, store, { title: 'Watched lamp', categories: [`watched-${randomUUID()}`], variants: [{ stock: 5 }] })
      const profile = await env.app.db.selectFrom('vendorProfiles').select('id').where('userId', '=', store.ownerId).executeTakeFirstOrThrow()
      const scene: Scene = { env, admin, store, product, profileId: profile.id }
      await write.prepare?.(scene)
      const urls = { product: `/products/${product.id}`, list: `/products?workspaceId=${store.workspaceId}`, categories: '/categories' }

      for (const url of Object.values(urls)) {
        const first = await get(url)
        if (first.statusCode !== 200) continue
        t.equal((await get(url)).statements, 0, `${url} is cached before the write`)
      }
      const res = await write.write(scene)
      t.ok(res.statusCode >= 200 && res.statusCode < 300, `the write succeeds (${res.statusCode} ${res.statusCode >= 300 ? res.body : ''})`)
      const views = { product: await get(urls.product), list: await get(urls.list), categories: await get(urls.categories) }
      for (const [name, view] of Object.entries(views)) t.ok(view.statements > 0, `${name}: read again from Postgres`)
      write.check(t, views, scene)
    })
  }
})

t.test('a read that started before a write committed is not kept: the write\'s change is visible next', async (t) => {
  const { env, get, holdNextStatement } = await cacheEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { price: 2500 })
  const url = `/products/${product.id}`

  const hold = holdNextStatement()
  const racing = get(url)
  await hold.reached
  // The read has its rows (the old price) and waits; the write commits and answers meanwhile.
  const patched = await env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}/products/${product.id}`, headers: store.owner.headers, payload: { price: { amount: 4200, currency: 'usd' } } })
  t.equal(patched.statusCode, 200)
  hold.release()
  const raced = await racing
  t.equal(raced.statusCode, 200)
  t.equal(raced.json().price.amount, 2500, 'the racing read answers what it read: it started before the write')

  const next = await get(url)
  t.ok(next.statements > 0, 'what it read was not kept')
  t.equal(next.json().price.amount, 4200, 'the next read shows the write')
  const cached = await get(url)
  t.equal(cached.statements, 0)
  t.equal(cached.json().price.amount, 4200)
})

t.test('a change made behind the API\'s back (the worker, another API copy) shows within CATALOG_CACHE_TTL_MS', async (t) => {
  const clock = new ManualClock()
  const { env, get } = await cacheEnv(t, { clock })
  const ttl = env.config.catalogCache.ttlMs
  t.equal(ttl, 1000, 'one second by default')
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { variants: [{ stock: 5 }] })
  const url = `/products/${product.id}`
  t.equal((await get(url)).json().variants[0].stock, 5)

  // What the expiry job does when it returns an unpaid order's stock: another process's write.
  await env.app.db.updateTable('productVariants').set({ stock: 7 }).where('productId', '=', product.id).execute()
  clock.advance(ttl - 1)
  const stale = await get(url)
  t.equal(stale.statements, 0, 'within the TTL the cached answer may still be served')
  t.equal(stale.json().variants[0].stock, 5)
  clock.advance(1)
  const fresh = await get(url)
  t.ok(fresh.statements > 0)
  t.equal(fresh.json().variants[0].stock, 7, 'once the TTL has passed since that read started, the change shows')
})

t.test('the cache keeps at most maxEntries answers, dropping the least recently used', async (t) => {
  const { env, get } = await cacheEnv(t, { config: { catalogCache: { ttlMs: 60_000, maxEntries: 3, maxBytes: 1024 * 1024 } } })
  const store = await approvedStore(env)
  const products = await Promise.all([1, 2, 3, 4].map(() => createProduct(env, store)))
  const [u1, u2, u3, u4] = products.map((p) => `/products/${p.id}`) as [string, string, string, string]
  for (const url of [u1, u2, u3]) await get(url)
  t.equal((await get(u1)).statements, 0, 'u1 cached (and now the most recently used)')
  t.ok((await get(u4)).statements > 0, 'a fourth answer is read...')
  t.ok((await get(u2)).statements > 0, '...and stored in place of the least recently used (u2)')
  t.equal((await get(u4)).statements, 0, 'u4 kept')
  t.equal((await get(u2)).statements, 0, 'u2 kept again')
  t.ok((await get(u3)).statements > 0, 'u3 was dropped for it')
})

t.test('CATALOG_CACHE_TTL_MS=0 turns the cache off', async (t) => {
  t.equal(loadConfig({ NODE_ENV: 'test', CATALOG_CACHE_TTL_MS: '0' }).catalogCache.ttlMs, 0)
  t.equal(loadConfig({ NODE_ENV: 'test' }).catalogCache.ttlMs, 1000)
  t.throws(() => loadConfig({ NODE_ENV: 'test', CATALOG_CACHE_TTL_MS: '-1' }), /CATALOG_CACHE_TTL_MS/)
  const { env, get } = await cacheEnv(t, { config: { catalogCache: { ttlMs: 0, maxEntries: 100, maxBytes: 1024 * 1024 } } })
  const store = await approvedStore(env)
  const product = await createProduct(env, store)
  const first = await get(`/products/${product.id}`)
  const second = await get(`/products/${product.id}`)
  t.ok(second.statements > 0, 'every read asks Postgres')
  t.same(second.rawPayload, first.rawPayload)
  t.equal(second.headers.etag, first.headers.etag, 'ETags are the same without the cache')
})

t.test('PublicReadCache: generations, TTL from the read\'s start, byte and entry bounds', async (t) => {
  const clock = new ManualClock()
  const cache = new PublicReadCache({ ttlMs: 100, maxEntries: 10, maxBytes: 1000 }, clock)
  const answer = (body: string) => ({ body, etag: 'W/"x"', contentType: 'application/json; charset=utf-8' })

  let read = cache.begin()
  cache.store('/a', read, answer('a'))
  t.equal(cache.lookup('/a')?.body, 'a', 'stored under the current generation')
  read = cache.begin()
  cache.bump()
  cache.store('/b', read, answer('b'))
  t.equal(cache.lookup('/b'), undefined, 'a read that began before a bump is not kept')
  t.equal(cache.lookup('/a'), undefined, 'a bump drops every answer')

  read = cache.begin()
  clock.advance(60)
  cache.store('/c', read, answer('c'))
  clock.advance(39)
  t.equal(cache.lookup('/c')?.body, 'c')
  clock.advance(1)
  t.equal(cache.lookup('/c'), undefined, 'the TTL counts from when the read began')
  read = cache.begin()
  clock.advance(100)
  cache.store('/d', read, answer('d'))
  t.equal(cache.lookup('/d'), undefined, 'a read slower than the TTL is not kept')

  for (let i = 0; i < 20; i++) cache.store(`/e${i}`, cache.begin(), answer('e'.repeat(100)))
  t.ok(cache.bytes <= 1000, `at most maxBytes (${cache.bytes})`)
  t.ok(cache.size < 10, `fewer entries than maxEntries when the bytes bind first (${cache.size})`)
  t.equal(cache.lookup('/e19')?.body.length, 100, 'the newest kept')
  t.equal(cache.lookup('/e0'), undefined, 'the oldest dropped')
  cache.store('/huge', cache.begin(), answer('h'.repeat(2000)))
  t.equal(cache.lookup('/huge'), undefined, 'an answer too large for the cache is not stored')
  t.equal(cache.lookup('/e19')?.body.length, 100, 'and does not flush the others')

  const off = new PublicReadCache({ ttlMs: 0, maxEntries: 10, maxBytes: 1000 }, clock)
  off.store('/a', off.begin(), answer('a'))
  t.equal(off.lookup('/a'), undefined, 'TTL 0 stores nothing')
})
