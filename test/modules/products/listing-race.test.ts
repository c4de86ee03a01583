import { sql } from 'kysely'
import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { createUser, login, type SignedIn } from '../../helpers/auth.ts'
import { approvedStore, createProduct, ensureCategories } from '../../helpers/commerce.ts'
import { onSale } from '../../../src/modules/products/public.ts'

// The catalog's copy of the on-sale rule (products.listed and the category counts) is written by
// whichever transaction changes an input of the rule. Two such changes at once (a vendor
// suspended while their staff activate products; a vendor reinstated while they do) each see
// only their own change until the other commits; the copy must still end equal to the rule.
// Real concurrency, many products and several rounds; the invariant is checked in the database.

const PRODUCTS = 8
const ROUNDS = 4

async function drift (env: TestEnv): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from products p where p.listed <> ${onSale('p')}`.execute(env.app.db)
  return rows[0]!.n
}

/** Category counts as the catalog serves them, and as a recount of the rule gives them. */
async function categoryCounts (env: TestEnv) {
  const served = (await env.app.inject({ method: 'GET', url: '/categories' })).json().items.map((c: { slug: string, count: number }) => ({ name: c.slug, count: c.count }))
  const { rows } = await sql<{ name: string, count: number }>`
    select c.name, count(*)::int as count from products p cross join unnest(p.categories) as c(name)
    where ${onSale('p')} group by c.name order by count desc, c.name`.execute(env.app.db)
  return { served, recounted: rows }
}

async function setUp (env: TestEnv) {
  const store = await approvedStore(env)
  // A member writes the products: the owner's own sessions end when they are suspended.
  const staff = await createUser(env, { type: 'vendor' })
  await env.app.db.insertInto('workspaceMembers').values({ workspaceId: store.workspaceId, userId: staff.id, role: 'member' }).execute()
  const member = await login(env.app, staff.email)
  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  const products: string[] = []
  // What the races below move products to.
  await ensureCategories(env, ['new-shelf', 'hidden-shelf', 'extra'])
  for (let i = 0; i < PRODUCTS; i++) {
    products.push((await createProduct(env, store, { title: `Raced lamp ${i}`, isActive: false, categories: ['lamps', `lamp-${i % 3}`] })).id)
  }
  return { store, member, admin, products }
}

const setActive = (env: TestEnv, workspaceId: string, who: SignedIn, id: string, isActive: boolean) =>
  env.app.inject({ method: 'PATCH', url: `/workspaces/${workspaceId}/products/${id}`, headers: who.headers, payload: { isActive } })

t.test('a vendor suspended or reinstated while their products are activated ends with every listed flag and count matching the rule', async (t) => {
  const env = await createTestEnv(t)
  const { store, member, admin, products } = await setUp(env)
  const setStatus = (status: string) => env.app.inject({ method: 'PATCH', url: `/users/${store.ownerId}/status`, headers: admin.headers, payload: { status } })

  for (let round = 0; round < ROUNDS; round++) {
    for (const [status, expectListed] of [['suspended', 0], ['active', PRODUCTS]] as const) {
      // Start from inactive products and the opposite status.
      for (const id of products) t.equal((await setActive(env, store.workspaceId, member, id, false)).statusCode, 200)
      t.equal((await setStatus(status === 'active' ? 'suspended' : 'active')).statusCode, 200)

      const answers = await Promise.all([
        ...products.map((id) => setActive(env, store.workspaceId, member, id, true)),
        setStatus(status)
      ])
      t.ok(answers.every((a) => a.statusCode === 200), `round ${round}, ${status}: every write succeeded`)
      t.equal(await drift(env), 0, `round ${round}, ${status}: every listed flag matches the rule`)
      const listed = await env.app.db.selectFrom('products').select('id').where('workspaceId', '=', store.workspaceId).where('listed', '=', true).execute()
      t.equal(listed.length, expectListed, `round ${round}, ${status}: ${expectListed} of the products are listed`)
      const counts = await categoryCounts(env)
      t.same(counts.served, counts.recounted, `round ${round}, ${status}: GET /categories equals a recount`)
    }
  }
})

t.test('category edits, deactivations and deletions racing a suspension keep the counts equal to a recount', async (t) => {
  const env = await createTestEnv(t)
  const { store, member, admin, products } = await setUp(env)
  for (const id of products) t.equal((await setActive(env, store.workspaceId, member, id, true)).statusCode, 200)
  const setStatus = (status: string) => env.app.inject({ method: 'PATCH', url: `/users/${store.ownerId}/status`, headers: admin.headers, payload: { status } })
  const patch = (id: string, payload: object) => env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}/products/${id}`, headers: member.headers, payload })

  const answers = await Promise.all([
    patch(products[0]!, { categories: ['lamps', 'new-shelf'] }),
    patch(products[1]!, { categories: [] }),
    patch(products[2]!, { isActive: false, categories: ['hidden-shelf'] }),
    env.app.inject({ method: 'DELETE', url: `/workspaces/${store.workspaceId}/products/${products[3]}`, headers: member.headers }),
    setStatus('suspended'),
    patch(products[4]!, { categories: ['lamps', 'lamp-0', 'extra'] })
  ])
  t.ok(answers.every((a) => a.statusCode < 300), 'every write succeeded')
  t.equal(await drift(env), 0)
  t.same((await categoryCounts(env)).served, [], 'a suspended vendor has nothing counted')

  t.equal((await setStatus('active')).statusCode, 200)
  const counts = await categoryCounts(env)
  t.same(counts.served, counts.recounted, 'reinstated: GET /categories equals a recount')
  t.match(counts.served, [{ name: 'lamps', count: 5 }], 'the five active, live products with "lamps" are counted')
})

t.test('edits of categories and activity to products sharing categories run at once without a deadlock, in one store or two', async (t) => {
  const env = await createTestEnv(t)
  const first = await approvedStore(env)
  const second = await approvedStore(env)
  const patch = (store: typeof first, id: string, payload: object) =>
    env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}/products/${id}`, headers: store.owner.headers, payload })
  const failures: string[] = []
  for (let round = 0; round < 12; round++) {
    const a = `shared-a${round}`
    const z = `shared-z${round}`
    // Each edit takes one category off and the product off sale: opposite names, opposite order.
    const p1 = await createProduct(env, first, { categories: [a, z] })
    const p2 = await createProduct(env, round % 2 === 0 ? first : second, { categories: [a, z] })
    const answers = await Promise.all([
      patch(first, p1.id, { categories: [a], isActive: false }),
      patch(round % 2 === 0 ? first : second, p2.id, { categories: [z], isActive: false })
    ])
    for (const answer of answers) if (answer.statusCode !== 200) failures.push(`${answer.statusCode} ${answer.body}`)
  }
  t.same(failures, [], 'every edit answers 200')
  const counts = await categoryCounts(env)
  t.same(counts.served, counts.recounted, 'GET /categories equals a recount')
  t.equal(await drift(env), 0, 'every listed flag equals the rule')
})
