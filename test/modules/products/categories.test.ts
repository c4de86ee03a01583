import { sql } from 'kysely'
import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { createUser, login, type SignedIn } from '../../helpers/auth.ts'
import { approvedStore, createProduct, type Store } from '../../helpers/commerce.ts'

// Issue 15, item 4: platform admins manage the categories (GET/POST/PATCH/DELETE
// /admin/categories: name, slug, parent); products reference them by slug, renaming keeps
// products attached, and vendors choose from the managed list only.

interface World { env: TestEnv, admin: SignedIn, store: Store }

async function world (t: Tap): Promise<World> {
  const env = await createTestEnv(t)
  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  return { env, admin, store: await approvedStore(env) }
}
type Tap = Parameters<typeof createTestEnv>[0]

const call = (w: World, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, headers: Record<string, string> = w.admin.headers) =>
  w.env.app.inject({ method, url, headers, ...(payload ? { payload } : {}) })
const create = (w: World, body: object) => call(w, 'POST', '/admin/categories', body)
const productBody = (categories: string[]) => ({ title: 'Linen shirt', price: { amount: 4900, currency: 'usd' }, categories, variants: [{ sku: `LIN-${Math.random().toString(36).slice(2, 8)}`, stock: 3 }] })
const countOf = async (env: TestEnv, table: 'categories' | 'products') => Number((await env.app.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
const catalogIds = async (env: TestEnv, category: string) =>
  (await env.app.inject({ method: 'GET', url: `/products?category=${category}` })).json().items.map((p: { id: string }) => p.id)

t.test('an admin creates, lists, renames and moves categories; their parent shows by slug', async (t) => {
  const w = await world(t)
  const clothing = await create(w, { name: 'Clothing', slug: 'clothing' })
  t.equal(clothing.statusCode, 201)
  t.equal(clothing.headers.location, `/admin/categories/${clothing.json().id}`)
  t.match(clothing.json(), { slug: 'clothing', name: 'Clothing', parent: null, listedProducts: 0, createdBy: w.admin.userId, updatedBy: w.admin.userId })
  const shirts = await create(w, { name: 'Shirts', slug: 'shirts', parent: 'clothing' })
  t.equal(shirts.statusCode, 201)
  t.equal(shirts.json().parent, 'clothing')
  const row = await w.env.app.db.selectFrom('categories').select(['parentId', 'createdBy']).where('slug', '=', 'shirts').executeTakeFirstOrThrow()
  t.same(row, { parentId: clothing.json().id, createdBy: w.admin.userId }, 'stored with its parent\'s id and its creator')

  const first = await call(w, 'GET', '/admin/categories?limit=1')
  t.same(first.json().items.map((c: { slug: string }) => c.slug), ['clothing'], 'by slug, a page of one')
  const second = await call(w, 'GET', `/admin/categories?limit=1&cursor=${first.json().nextCursor}`)
  t.same(second.json().items.map((c: { slug: string }) => c.slug), ['shirts'])
  t.equal(second.json().nextCursor, null)

  const renamed = await call(w, 'PATCH', `/admin/categories/${shirts.json().id}`, { name: 'Shirts & blouses', parent: null })
  t.equal(renamed.statusCode, 200)
  t.match(renamed.json(), { slug: 'shirts', name: 'Shirts & blouses', parent: null })
  const all = await w.env.app.inject({ method: 'GET', url: '/categories?all=true' })
  t.same(all.json().items, [{ slug: 'clothing', name: 'Clothing', parent: null, count: 0 }, { slug: 'shirts', name: 'Shirts & blouses', parent: null, count: 0 }],
    'GET /categories?all=true lists every managed category, empty ones too (what vendors choose from)')
  t.same((await w.env.app.inject({ method: 'GET', url: '/categories' })).json().items, [], 'without all: only categories the catalog shows products of')
})

t.test('a vendor choosing an unknown category gets a 400 naming it, and nothing changes', async (t) => {
  const w = await world(t)
  t.equal((await create(w, { name: 'Shirts', slug: 'shirts' })).statusCode, 201)
  const before = await countOf(w.env, 'products')
  const res = await call(w, 'POST', `/workspaces/${w.store.workspaceId}/products`, productBody(['shirts', 'made-up']), w.store.owner.headers)
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(res.json(), { code: 'VALIDATION_FAILED', errors: [{ pointer: '/body/categories/1', detail: /is not a category \(made-up\)/ }] })
  t.equal(await countOf(w.env, 'products'), before, 'no product was created')

  const product = await createProduct(w.env, w.store, { categories: ['shirts'] })
  const patch = await call(w, 'PATCH', `/workspaces/${w.store.workspaceId}/products/${product.id}`, { title: 'Renamed', categories: ['nope'] }, w.store.owner.headers)
  t.equal(patch.statusCode, 400)
  t.match(patch.json().errors, [{ pointer: '/body/categories/0' }])
  const row = await w.env.app.db.selectFrom('products').select(['title', 'categories']).where('id', '=', product.id).executeTakeFirstOrThrow()
  t.same(row, { title: 'Plain tee', categories: ['shirts'] }, 'the product is unchanged')
  t.same(await catalogIds(w.env, 'shirts'), [product.id], 'a managed category works as before')
})

t.test('renaming a slug keeps products attached: they carry the new one, the filter and the counts follow', async (t) => {
  const w = await world(t)
  const category = (await create(w, { name: 'Tees', slug: 'tees' })).json()
  const listed = await createProduct(w.env, w.store, { title: 'Listed tee', categories: ['tees'] })
  const draft = await createProduct(w.env, w.store, { title: 'Draft tee', categories: ['tees'], isActive: false })
  t.same((await w.env.app.inject({ method: 'GET', url: '/categories' })).json().items, [{ slug: 'tees', name: 'Tees', parent: null, count: 1 }])

  const res = await call(w, 'PATCH', `/admin/categories/${category.id}`, { slug: 't-shirts', name: 'T-shirts' })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { id: category.id, slug: 't-shirts', name: 'T-shirts', listedProducts: 1, updatedBy: w.admin.userId })
  const rows = await w.env.app.db.selectFrom('products').select(['id', 'categories']).where('id', 'in', [listed.id, draft.id]).orderBy('id').execute()
  t.same(rows.map((r) => r.categories), [['t-shirts'], ['t-shirts']], 'both products, listed or not, carry the new slug')
  t.same(await catalogIds(w.env, 't-shirts'), [listed.id], 'the catalog filter finds the product by the new slug')
  t.same(await catalogIds(w.env, 'tees'), [], 'and nothing by the old one')
  t.same((await w.env.app.inject({ method: 'GET', url: '/categories' })).json().items, [{ slug: 't-shirts', name: 'T-shirts', parent: null, count: 1 }], 'the count moved with it')
  const vendorView = await call(w, 'GET', `/workspaces/${w.store.workspaceId}/products/${draft.id}`, undefined, w.store.owner.headers)
  t.same(vendorView.json().categories, ['t-shirts'], 'the vendor sees the new slug')
  const reuse = await call(w, 'POST', `/workspaces/${w.store.workspaceId}/products`, productBody(['tees']), w.store.owner.headers)
  t.equal(reuse.statusCode, 400, 'the old slug is no longer a category')
})

t.test('bad input names the field and changes nothing; a taken slug is 409; a cycle is refused', async (t) => {
  const w = await world(t)
  const a = (await create(w, { name: 'A', slug: 'a' })).json()
  const b = (await create(w, { name: 'B', slug: 'b', parent: 'a' })).json()
  const c = (await create(w, { name: 'C', slug: 'c', parent: 'b' })).json()
  const before = await w.env.app.db.selectFrom('categories').selectAll().orderBy('slug').execute()
  const cases: Array<[string, Promise<any>, number, string, string]> = [
    ['a slug with capitals', create(w, { name: 'X', slug: 'Bad Slug' }), 400, 'VALIDATION_FAILED', '/body/slug'],
    ['no name', create(w, { slug: 'x' }), 400, 'VALIDATION_FAILED', '/body/name'],
    ['an unknown parent', create(w, { name: 'X', slug: 'x', parent: 'nowhere' }), 400, 'VALIDATION_FAILED', '/body/parent'],
    ['a taken slug', create(w, { name: 'Again', slug: 'a' }), 409, 'SLUG_TAKEN', '/body/slug'],
    ['a re-slug onto a taken one', call(w, 'PATCH', `/admin/categories/${c.id}`, { slug: 'a' }), 409, 'SLUG_TAKEN', '/body/slug'],
    ['its own parent', call(w, 'PATCH', `/admin/categories/${a.id}`, { parent: 'a' }), 400, 'VALIDATION_FAILED', '/body/parent'],
    ['under its own grandchild', call(w, 'PATCH', `/admin/categories/${a.id}`, { parent: 'c' }), 400, 'VALIDATION_FAILED', '/body/parent'],
    ['an empty patch', call(w, 'PATCH', `/admin/categories/${b.id}`, {}), 400, 'VALIDATION_FAILED', '/body'],
    ['an unknown field', call(w, 'PATCH', `/admin/categories/${b.id}`, { colour: 'red' }), 400, 'VALIDATION_FAILED', '/body/colour']
  ]
  for (const [name, pending, status, code, pointer] of cases) {
    const res = await pending
    t.equal(res.statusCode, status, name)
    t.equal(res.json().code, code, `${name}: ${code}`)
    t.ok(res.json().errors?.some((e: { pointer: string }) => e.pointer === pointer), `${name} names ${pointer} (${JSON.stringify(res.json().errors)})`)
  }
  t.equal((await call(w, 'PATCH', `/admin/categories/${w.admin.userId}`, { name: 'Z' })).statusCode, 404, 'an unknown id is 404')
  t.same(await w.env.app.db.selectFrom('categories').selectAll().orderBy('slug').execute(), before, 'nothing changed')
})

t.test('a category in use or with children cannot be deleted; an unused one can', async (t) => {
  const w = await world(t)
  const parent = (await create(w, { name: 'Kitchen', slug: 'kitchen' })).json()
  const child = (await create(w, { name: 'Knives', slug: 'knives', parent: 'kitchen' })).json()
  const product = await createProduct(w.env, w.store, { categories: ['knives'], isActive: false })

  const withChildren = await call(w, 'DELETE', `/admin/categories/${parent.id}`)
  t.equal(withChildren.statusCode, 409)
  t.equal(withChildren.json().code, 'CATEGORY_HAS_CHILDREN')
  const inUse = await call(w, 'DELETE', `/admin/categories/${child.id}`)
  t.equal(inUse.statusCode, 409, 'an inactive product carrying it counts too')
  t.match(inUse.json(), { code: 'CATEGORY_IN_USE', products: 1 })
  t.equal(await countOf(w.env, 'categories'), 2, 'both still there')

  t.equal((await call(w, 'PATCH', `/workspaces/${w.store.workspaceId}/products/${product.id}`, { categories: [] }, w.store.owner.headers)).statusCode, 200)
  t.equal((await call(w, 'DELETE', `/admin/categories/${child.id}`)).statusCode, 204)
  t.equal((await call(w, 'DELETE', `/admin/categories/${parent.id}`)).statusCode, 204, 'without children it goes too')
  t.equal(await countOf(w.env, 'categories'), 0)
  t.equal((await call(w, 'DELETE', `/admin/categories/${parent.id}`)).statusCode, 404, 'gone')
})

t.test('only platform admins manage categories', async (t) => {
  const w = await world(t)
  const category = (await create(w, { name: 'Hats', slug: 'hats' })).json()
  const customer = await login(w.env.app, (await createUser(w.env)).email)
  for (const who of [w.store.owner, customer]) {
    for (const [method, url, payload] of [['GET', '/admin/categories'], ['POST', '/admin/categories', { name: 'Caps', slug: 'caps' }],
      ['PATCH', `/admin/categories/${category.id}`, { name: 'Caps' }], ['DELETE', `/admin/categories/${category.id}`]] as const) {
      const res = await call(w, method, url, payload, who.headers)
      t.equal(res.statusCode, 403, `${method} ${url} by a ${who === customer ? 'customer' : 'vendor'}`)
    }
  }
  t.equal((await w.env.app.inject({ method: 'GET', url: '/admin/categories' })).statusCode, 401, 'anonymous: 401')
  t.same((await w.env.app.db.selectFrom('categories').select(['slug', 'name']).execute()), [{ slug: 'hats', name: 'Hats' }], 'nothing changed')
})

t.test('a slug renamed while vendors edit products carrying it: every product ends attached to the new slug', async (t) => {
  const w = await world(t)
  const category = (await create(w, { name: 'Lamps', slug: 'lamps' })).json()
  t.equal((await create(w, { name: 'Desk', slug: 'desk' })).statusCode, 201)
  const products = []
  for (let i = 0; i < 8; i++) products.push(await createProduct(w.env, w.store, { title: `Lamp ${i}`, categories: ['lamps'] }))
  const edit = (id: string, i: number) => call(w, 'PATCH', `/workspaces/${w.store.workspaceId}/products/${id}`,
    i % 2 === 0 ? { title: `Edited lamp ${i}`, isActive: i % 4 === 0 } : { categories: ['desk'] }, w.store.owner.headers)
  const answers = await Promise.all([
    ...products.map((p, i) => edit(p.id, i)),
    call(w, 'PATCH', `/admin/categories/${category.id}`, { slug: 'lighting' })
  ])
  t.same(answers.map((a) => a.statusCode), Array(9).fill(200), 'every edit and the rename answer 200')
  const rows = await w.env.app.db.selectFrom('products').select(['title', 'categories']).where('workspaceId', '=', w.store.workspaceId).orderBy('title').execute()
  t.same(rows.filter((r) => r.categories.includes('lamps')), [], 'no product carries the old slug')
  t.equal(rows.filter((r) => r.categories.includes('lighting')).length, 4, 'the four whose categories were not edited carry the new one')
  t.equal(rows.filter((r) => r.title.startsWith('Edited')).length, 4, 'and their edits landed')
  const { rows: recount } = await sql<{ name: string, count: number }>`select c.name, count(*)::int as count from products p
    cross join unnest(p.categories) as c(name) where p.listed group by c.name order by count desc, c.name`.execute(w.env.app.db)
  const served = (await w.env.app.inject({ method: 'GET', url: '/categories' })).json().items.map((c: { slug: string, count: number }) => ({ name: c.slug, count: c.count }))
  t.same(served, recount, 'GET /categories equals a recount')
})

t.test('products created while their category is deleted: either the product or the category survives, never a product on a missing category', async (t) => {
  const w = await world(t)
  const outcomes = new Set<string>()
  for (let round = 0; round < 6; round++) {
    const slug = `short-lived-${round}`
    const category = (await create(w, { name: 'Short lived', slug })).json()
    const [made, deleted] = await Promise.all([
      call(w, 'POST', `/workspaces/${w.store.workspaceId}/products`, productBody([slug]), w.store.owner.headers),
      call(w, 'DELETE', `/admin/categories/${category.id}`)
    ])
    outcomes.add(`${made.statusCode}/${deleted.statusCode}`)
    t.ok((made.statusCode === 201 && deleted.statusCode === 409) || (made.statusCode === 400 && deleted.statusCode === 204), `round ${round}: product ${made.statusCode}, delete ${deleted.statusCode}`)
  }
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from products p cross join unnest(p.categories) as c(slug)
    where p.deleted_at is null and not exists (select 1 from categories k where k.slug = c.slug)`.execute(w.env.app.db)
  t.equal(rows[0]!.n, 0, `no live product carries a slug that is not a category (outcomes: ${[...outcomes].join(', ')})`)
})

t.test('concurrent admin edits of the tree (moves both ways, re-slugs, creations) never fail with a 500 nor leave a cycle', async (t) => {
  const w = await world(t)
  const ids: Record<string, string> = {}
  for (const slug of ['a', 'b', 'c', 'd']) ids[slug] = (await create(w, { name: slug.toUpperCase(), slug })).json().id
  const statuses = new Set<number>()
  for (let round = 0; round < 4; round++) {
    const answers = await Promise.all([
      call(w, 'PATCH', `/admin/categories/${ids.a}`, { parent: 'b' }),
      call(w, 'PATCH', `/admin/categories/${ids.b}`, { parent: 'a' }),
      call(w, 'PATCH', `/admin/categories/${ids.c}`, { parent: 'd', name: `C${round}` }),
      call(w, 'PATCH', `/admin/categories/${ids.d}`, { parent: 'c' }),
      call(w, 'PATCH', `/admin/categories/${ids.c}`, { slug: 'a' }),
      create(w, { name: 'New', slug: `new-${round}`, parent: 'd' })
    ])
    for (const answer of answers) statuses.add(answer.statusCode)
    t.notOk(answers.some((a) => a.statusCode >= 500), `round ${round}: no 500 (${answers.map((a) => a.statusCode).join(', ')})`)
    const { rows } = await sql<{ n: number }>`
      with recursive walk (start, id, depth) as (
        select id, parent_id, 1 from categories where parent_id is not null
        union all
        select w.start, c.parent_id, w.depth + 1 from walk w join categories c on c.id = w.id where c.parent_id is not null and w.depth < 50
      ) select count(*)::int as n from walk where start = id`.execute(w.env.app.db)
    t.equal(rows[0]!.n, 0, `round ${round}: no category is its own ancestor`)
    // Undo the moves for the next round.
    await w.env.app.db.updateTable('categories').set({ parentId: null }).where('slug', 'in', ['a', 'b', 'c', 'd']).execute()
  }
  t.ok(statuses.has(400) && statuses.has(200), `some moves were refused as cycles, others made (${[...statuses].join(', ')})`)
})

t.test('slug renames racing a vendor\'s suspension and reinstatement: no deadlock, counts equal a recount', async (t) => {
  const w = await world(t)
  const category = (await create(w, { name: 'Rugs', slug: 'rugs-0' })).json()
  for (let i = 0; i < 6; i++) await createProduct(w.env, w.store, { title: `Rug ${i}`, categories: [i % 2 ? 'rugs-0' : 'mats', 'rugs-0'].filter((c, k, all) => all.indexOf(c) === k) })
  for (let round = 1; round <= 4; round++) {
    const answers = await Promise.all([
      call(w, 'PATCH', `/admin/categories/${category.id}`, { slug: `rugs-${round}` }),
      call(w, 'PATCH', `/users/${w.store.ownerId}/status`, { status: round % 2 ? 'suspended' : 'active' })
    ])
    t.same(answers.map((a) => a.statusCode), [200, 200], `round ${round}: both answer 200`)
  }
  const rows = await w.env.app.db.selectFrom('products').select('categories').where('workspaceId', '=', w.store.workspaceId).execute()
  t.ok(rows.every((r) => r.categories.includes('rugs-4') && !r.categories.some((c) => /^rugs-[0-3]$/.test(c))), 'every product carries the last slug')
  const { rows: recount } = await sql<{ name: string, count: number }>`select c.name, count(*)::int as count from products p
    cross join unnest(p.categories) as c(name) where p.listed group by c.name order by count desc, c.name`.execute(w.env.app.db)
  const served = (await w.env.app.inject({ method: 'GET', url: '/categories' })).json().items.map((c: { slug: string, count: number }) => ({ name: c.slug, count: c.count }))
  t.same(served, recount, 'GET /categories equals a recount')
  t.equal(recount.length, 2, 'the reinstated vendor\'s products are counted again')
})
