import { sql } from 'kysely'
import t from 'tap'
import { createTestEnv } from '../helpers/app.ts'
import { login } from '../helpers/auth.ts'
import { DEMO_PASSWORD, seed } from '../../scripts/seed.ts'
import { DEMO_CURRENCY } from '../../scripts/lib/seed-catalog.ts'
import { onSale } from '../../src/modules/products/public.ts'

t.test('the seed builds the demo marketplace once; a second run adds nothing', async (t) => {
  const env = await createTestEnv(t)
  const first = await seed(env.app.deps)
  t.ok(first.created > 0)
  const count = async (table: 'users' | 'workspaces' | 'workspaceMembers' | 'vendorProfiles' | 'addresses') =>
    Number((await env.app.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
  const before = { users: await count('users'), workspaces: await count('workspaces'), members: await count('workspaceMembers'), profiles: await count('vendorProfiles'), addresses: await count('addresses') }
  t.match(before, { users: 9, workspaces: 3, members: 5, profiles: 3, addresses: 3 })

  const second = await seed(env.app.deps)
  t.equal(second.created, 0, 'idempotent')
  t.same({ users: await count('users'), workspaces: await count('workspaces'), members: await count('workspaceMembers'), profiles: await count('vendorProfiles'), addresses: await count('addresses') }, before)

  for (const u of first.users) {
    const s = await login(env.app, u.email, DEMO_PASSWORD)
    t.equal(s.body.user.type, u.type, `${u.email} signs in`)
  }
  const statuses = await env.app.db.selectFrom('vendorProfiles').select('reviewStatus').orderBy('reviewStatus').execute()
  t.same(statuses.map((s) => s.reviewStatus), ['approved', 'approved', 'pending'])

  // The catalog: 1,240 products (1,200 in approved stores), every one with stock on its variants.
  t.equal(first.products, 1240)
  t.equal(second.products, 0)
  const products = await env.app.db.selectFrom('products').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(products.n), 1240)
  // Checkout refuses a cart in several currencies, and the demo cart spans the stores.
  const currencies = await env.app.db.selectFrom('products').select('currency').distinct().execute()
  t.same(currencies, [{ currency: DEMO_CURRENCY }], 'every store prices in one currency')
  // The seed leaves fresh planner statistics (ANALYZE), not the planner's guess of an empty table.
  const stats = await sql<{ reltuples: number }>`select reltuples from pg_class where relname = 'products'`.execute(env.app.db)
  t.equal(Number(stats.rows[0]!.reltuples), 1240, 'the catalog is analyzed')
  const variants = await env.app.db.selectFrom('productVariants').select(['sku', 'stock', 'size']).execute()
  t.equal(variants.length, 600 * 5 + 600 + 40, 'five sizes per garment, one default variant per kitchen item')
  t.ok(variants.every((v) => Number.isInteger(v.stock) && v.stock > 0), 'all in stock')
  t.equal(new Set(variants.map((v) => v.sku)).size, variants.length, 'SKUs are unique')
  const listed = await env.app.db.selectFrom('products').select((eb) => eb.fn.countAll().as('n')).where('listed', '=', true).executeTakeFirstOrThrow()
  t.equal(Number(listed.n), 1176, 'the public catalog: the approved stores\' 1,200 less 24 drafts; not the pending vendor\'s')
  const { rows: [drift] } = await sql<{ n: number }>`select count(*)::int as n from products p where p.listed <> ${onSale('p')}`.execute(env.app.db)
  t.equal(drift!.n, 0, 'every product listed by the on-sale rule')
  const search = (await env.app.inject({ method: 'GET', url: '/products?q=linen%20shirt&limit=3' })).json()
  t.equal(search.items.length, 3)
  t.match(search.items[0].title, /linen shirt/i, 'the best match first')
  t.ok(search.items.every((p: any) => p.variants.length === 5 && Number.isInteger(p.price.amount)))
})
