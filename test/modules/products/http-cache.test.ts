import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { createUser, login } from '../../helpers/auth.ts'
import { addToCart, approvedStore, checkout, createProduct, shopper } from '../../helpers/commerce.ts'
import { PUBLIC_CACHE_CONTROL } from '../../../src/platform/http-cache.ts'

// The public catalog is cacheable: an ETag on every 200, 304 to a matching If-None-Match, and a
// Cache-Control a CDN may honour. The ETag is the answer's: any write that changes what a
// reader would see (price, stock, the vendor's standing, a new product) changes it, so a
// revalidation after the write gets the new answer, never a 304. (The API's own copy of these
// answers, and how writes invalidate it, is public-cache.test.ts.)

t.test('catalog reads carry an ETag, answer 304 while nothing changed, and 200 with a new ETag after each change', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { title: 'Etag teapot', categories: ['etag-kitchen'], variants: [{ stock: 5 }] })
  const get = (url: string, etag?: string) => env.app.inject({ method: 'GET', url, headers: etag ? { 'if-none-match': etag } : {} })
  const urls = { byId: `/products/${product.id}`, list: '/products?q=etag&limit=20', categories: '/categories' }

  const first: Record<string, string> = {}
  for (const [name, url] of Object.entries(urls)) {
    const res = await get(url)
    t.equal(res.statusCode, 200, `${name}: 200`)
    t.match(res.headers.etag, /^W\/".+"$/, `${name}: a weak ETag`)
    t.equal(res.headers['cache-control'], PUBLIC_CACHE_CONTROL, `${name}: cacheable by browsers (revalidate) and CDNs (seconds)`)
    first[name] = res.headers.etag as string
    const again = await get(url, first[name])
    t.equal(again.statusCode, 304, `${name}: unchanged, 304`)
    t.equal(again.body, '', `${name}: no body`)
    t.equal(again.headers.etag, first[name])
    t.equal(again.headers['cache-control'], PUBLIC_CACHE_CONTROL)
    t.equal((await get(url, 'W/"something-else"')).statusCode, 200, `${name}: another ETag gets the answer`)
  }

  // A price change: the product and the list change; the categories do not.
  const patched = await env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}/products/${product.id}`, headers: store.owner.headers, payload: { price: { amount: 3100, currency: 'usd' } } })
  t.equal(patched.statusCode, 200)
  const byId = await get(urls.byId, first.byId)
  t.equal(byId.statusCode, 200, 'the edited product is served anew')
  t.equal(byId.json().price.amount, 3100)
  t.not(byId.headers.etag, first.byId)
  t.equal((await get(urls.list, first.list)).statusCode, 200, 'so is the list that shows it')
  t.equal((await get(urls.categories, first.categories)).statusCode, 304, 'the categories did not change')

  // A stock change by a checkout.
  const before = (await get(urls.byId)).headers.etag as string
  const buyer = await shopper(env)
  await addToCart(env, buyer, product.variants[0].id, 2)
  t.equal((await checkout(env, buyer)).statusCode, 201)
  const afterSale = await get(urls.byId, before)
  t.equal(afterSale.statusCode, 200, 'stock taken by a checkout is visible at once')
  t.equal(afterSale.json().variants[0].stock, 3)

  // A new product in a new category.
  const categoriesBefore = (await get(urls.categories)).headers.etag as string
  await createProduct(env, store, { title: 'Etag kettle', categories: ['etag-new-category'] })
  const categories = await get(urls.categories, categoriesBefore)
  t.equal(categories.statusCode, 200)
  t.ok(categories.json().items.some((c: { slug: string }) => c.slug === 'etag-new-category'))

  // The vendor suspended: the product is gone, never a 304 for the old copy.
  const lastSeen = (await get(urls.byId)).headers.etag as string
  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  const suspended = await env.app.inject({ method: 'PATCH', url: `/users/${store.ownerId}/status`, headers: admin.headers, payload: { status: 'suspended' } })
  t.equal(suspended.statusCode, 200)
  const gone = await get(urls.byId, lastSeen)
  t.equal(gone.statusCode, 404)
  t.not(gone.headers['cache-control'], PUBLIC_CACHE_CONTROL, 'a 404 is not marked cacheable')
})

t.test('workspace (private) product reads are not marked publicly cacheable', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store)
  const res = await env.app.inject({ method: 'GET', url: `/workspaces/${store.workspaceId}/products/${product.id}`, headers: store.owner.headers })
  t.equal(res.statusCode, 200)
  t.not(res.headers['cache-control'], PUBLIC_CACHE_CONTROL)
  t.equal(res.headers.etag, undefined)
})
