import t from 'tap'
import { createTestEnv, type Tap, type TestEnv } from '../../helpers/app.ts'
import { createUser, login } from '../../helpers/auth.ts'
import { approvedStore, createProduct, type Store } from '../../helpers/commerce.ts'
import { multipart, PNG } from '../../helpers/multipart.ts'

// Stores in public (plan §9): GET /stores/:slug, and the store card on every public product.

async function countingEnv (t: Tap, cached = true) {
  let statements = 0
  const env = await createTestEnv(t, {
    onQuery: () => { statements++ },
    ...(cached ? {} : { config: { catalogCache: { ttlMs: 0, maxEntries: 0, maxBytes: 0 } } })
  })
  const get = async (url: string, headers: Record<string, string> = {}) => {
    const before = statements
    const res = await env.app.inject({ method: 'GET', url, headers })
    return Object.assign(res, { statements: statements - before })
  }
  return { env, get }
}

async function slugOf (env: TestEnv, store: Store): Promise<string> {
  return (await env.app.db.selectFrom('workspaces').select('slug').where('id', '=', store.workspaceId).executeTakeFirstOrThrow()).slug
}

t.test('a selling store\'s public page: its branding only, one statement, then cached with an ETag', async (t) => {
  const { env, get } = await countingEnv(t)
  const store = await approvedStore(env, { name: 'Hopper Computing' })
  const patched = await env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}`, headers: store.owner.headers, payload: { primaryColor: '#1f6feb', settings: { secretNote: 'wholesale price list' } } })
  t.equal(patched.statusCode, 200)
  const slug = await slugOf(env, store)
  const created = await env.app.db.selectFrom('workspaces').select('createdAt').where('id', '=', store.workspaceId).executeTakeFirstOrThrow()

  const first = await get(`/stores/${slug}`)
  t.equal(first.statusCode, 200)
  t.same(first.json(), { id: store.workspaceId, name: 'Hopper Computing', slug, logoUrl: null, primaryColor: '#1f6feb', since: created.createdAt.toISOString() }, 'exactly the public fields')
  t.notMatch(first.body, /secretNote|wholesale|ownerId/, 'never the settings or the owner')
  t.equal(first.statements, 1, 'one statement uncached')
  t.match(first.headers['cache-control'], /public/)
  const etag = first.headers.etag as string
  t.ok(etag, 'an ETag')

  const second = await get(`/stores/${slug}`)
  t.equal(second.statements, 0, 'a repeat runs no SQL')
  t.equal(second.body, first.body)
  const revalidated = await get(`/stores/${slug}`, { 'if-none-match': etag })
  t.equal(revalidated.statusCode, 304)
  t.equal(revalidated.body, '')
})

t.test('one statement per store read when the cache is off', async (t) => {
  const { env, get } = await countingEnv(t, false)
  const store = await approvedStore(env)
  const slug = await slugOf(env, store)
  for (let i = 0; i < 2; i++) {
    const res = await get(`/stores/${slug}`)
    t.equal(res.statusCode, 200)
    t.equal(res.statements, 1, `read ${i + 1}: one statement`)
  }
  const missing = await get('/stores/no-such-store')
  t.equal(missing.statusCode, 404)
  t.equal(missing.statements, 1)
})

t.test('404 unless the store sells: unknown, pending review, suspended owner, deleted', async (t) => {
  const { env, get } = await countingEnv(t)
  const adminUser = await createUser(env, { type: 'admin' })
  const admin = await login(env.app, adminUser.email)
  const pending = await approvedStore(env, { approved: false })
  const suspended = await approvedStore(env)
  const deleted = await approvedStore(env)
  const slugs = { pending: await slugOf(env, pending), suspended: await slugOf(env, suspended), deleted: await slugOf(env, deleted) }
  // Read (and cached) while they still sell, so a stale copy would show.
  t.equal((await get(`/stores/${slugs.suspended}`)).statusCode, 200)
  t.equal((await get(`/stores/${slugs.deleted}`)).statusCode, 200)

  t.equal((await env.app.inject({ method: 'PATCH', url: `/users/${suspended.ownerId}/status`, headers: admin.headers, payload: { status: 'suspended' } })).statusCode, 200)
  t.equal((await env.app.inject({ method: 'DELETE', url: `/workspaces/${deleted.workspaceId}`, headers: deleted.owner.headers })).statusCode, 204)

  for (const [name, slug] of [['unknown', 'no-such-store'], ['pending review', slugs.pending], ['suspended owner', slugs.suspended], ['deleted', slugs.deleted]]) {
    const res = await get(`/stores/${slug}`)
    t.equal(res.statusCode, 404, `${name}: 404`)
    t.equal(res.json().code, 'NOT_FOUND')
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  }
  // The 404s were not kept: the store approved is public at once.
  const profile = await env.app.db.selectFrom('vendorProfiles').select('id').where('userId', '=', pending.ownerId).executeTakeFirstOrThrow()
  t.equal((await env.app.inject({ method: 'PATCH', url: `/vendor-profiles/${profile.id}/review`, headers: admin.headers, payload: { status: 'approved' } })).statusCode, 200)
  t.equal((await get(`/stores/${slugs.pending}`)).statusCode, 200, 'approved: the store page is there at once')
  // A workspace with no vendor at all (a member's own workspace) is no store either.
  const plain = await createUser(env)
  const own = await env.app.inject({ method: 'POST', url: '/workspaces', headers: (await login(env.app, plain.email)).headers, payload: { name: 'Just a team', slug: 'just-a-team' } })
  t.equal(own.statusCode, 201)
  t.equal((await get('/stores/just-a-team')).statusCode, 404, 'a workspace whose owner is no approved vendor: 404')
})

t.test('hostile slugs are 400 (the schema\'s shape) and never reach SQL', async (t) => {
  const { get } = await countingEnv(t)
  for (const slug of ['A-Upper', 'a'.repeat(49), 'semi%3Bcolon', 'quote\'s', '%C3%A9t%C3%A9', '-leading', 'trailing-', 'a%00b', 'a.b']) {
    const res = await get(`/stores/${slug}`)
    t.equal(res.statusCode, 400, `${slug}: 400`)
    t.equal(res.json().code, 'VALIDATION_FAILED')
    t.equal(res.json().errors[0].pointer, '/params/slug')
    t.equal(res.statements, 0, 'no SQL ran')
  }
  t.equal((await get(`/stores/${'a'.repeat(48)}`)).statusCode, 404, 'the longest valid slug is looked up (and not found)')
})

t.test('every public product carries its store; renames, re-slugs and new logos show at once', async (t) => {
  const { env, get } = await countingEnv(t)
  const store = await approvedStore(env, { name: 'Lamp Works' })
  const product = await createProduct(env, store, { title: 'Brass lamp', variants: [{ stock: 3 }] })
  const slug = await slugOf(env, store)
  const card = { id: store.workspaceId, name: 'Lamp Works', slug, logoUrl: null }
  const urls = { product: `/products/${product.id}`, list: `/products?workspaceId=${store.workspaceId}`, search: '/products?q=brass', store: `/stores/${slug}` }

  t.same((await get(urls.product)).json().store, card, 'the product page')
  t.same((await get(urls.list)).json().items[0].store, card, 'the list')
  t.same((await get(urls.search)).json().items[0].store, card, 'a search')
  const managed = await env.app.inject({ method: 'GET', url: `/workspaces/${store.workspaceId}/products/${product.id}`, headers: store.owner.headers })
  t.same(managed.json().store, card, 'the vendor\'s own view too')
  const etag = (await get(urls.store)).headers.etag as string
  for (const url of Object.values(urls)) t.equal((await get(url)).statements, 0, `${url} cached`)

  const renamed = await env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}`, headers: store.owner.headers, payload: { name: 'Lamp Works & Co', slug: 'lamp-works-co' } })
  t.equal(renamed.statusCode, 200)
  const renamedCard = { ...card, name: 'Lamp Works & Co', slug: 'lamp-works-co' }
  t.same((await get(urls.product)).json().store, renamedCard, 'the product page shows the new name at once')
  t.same((await get(urls.list)).json().items[0].store, renamedCard, 'so does the list')
  t.equal((await get(urls.store)).statusCode, 404, 'the old slug is gone')
  const moved = await get('/stores/lamp-works-co')
  t.equal(moved.statusCode, 200)
  t.equal(moved.json().name, 'Lamp Works & Co')
  t.not(moved.headers.etag, etag, 'a new ETag')
  const stale = await get('/stores/lamp-works-co', { 'if-none-match': etag })
  t.equal(stale.statusCode, 200, 'the old ETag no longer matches')

  const body = multipart([{ field: 'logo', filename: 'logo.png', contentType: 'image/png', content: PNG }])
  const logo = await env.app.inject({ method: 'PUT', url: `/workspaces/${store.workspaceId}/logo`, headers: { ...store.owner.headers, ...body.headers }, payload: body.payload })
  t.equal(logo.statusCode, 200)
  const logoUrl = logo.json().logoUrl
  t.same((await get(urls.product)).json().store, { ...renamedCard, logoUrl }, 'the new logo on the product page at once')
  const withLogo = await get('/stores/lamp-works-co')
  t.equal(withLogo.json().logoUrl, logoUrl, 'and on the store page')
  t.not(withLogo.headers.etag, moved.headers.etag, 'with a new ETag')
})
