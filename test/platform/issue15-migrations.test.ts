import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import { databaseMigratedTo } from '../helpers/migrations.ts'
import { describe } from '../../src/platform/migrator.ts'

// Issue 15: the migrations that make categories managed (item 4) and add audit columns to orders
// (item 5) keep what a database already holds: every category its products carry becomes a
// managed one (products keep their slugs), and orders placed before get createdBy/updatedBy.

const BEFORE = '20261130_C_end_sessions_before_cluster_keys'

t.test('existing products keep their categories as managed ones; existing orders get their audit columns', async (t) => {
  const { db, migrator } = await databaseMigratedTo(t, BEFORE)
  const [owner, customer, staff] = [randomUUID(), randomUUID(), randomUUID()]
  for (const [id, type] of [[owner, 'vendor'], [customer, 'customer'], [staff, 'vendor']]) {
    await db.insertInto('users').values({ id, email: `${id}@example.test`, name: 'Someone', type, status: 'active' }).execute()
  }
  const workspace = randomUUID()
  await db.insertInto('workspaces').values({ id: workspace, name: 'Old store', slug: `old-${workspace.slice(0, 8)}`, owner_id: owner }).execute()
  const product = (categories: string[], deleted = false) => ({
    id: randomUUID(), workspace_id: workspace, title: 'Old product', price_amount: 1000, currency: 'usd', categories, listed: !deleted, ...(deleted ? { deleted_at: new Date() } : {})
  })
  const products = [product(['shirts', 'tea-and-coffee']), product(['shirts']), product([]), product(['gone-with-its-product'], true)]
  await db.insertInto('products').values(products).execute()
  await db.insertInto('category_counts').values([{ name: 'shirts', count: 2 }, { name: 'tea-and-coffee', count: 1 }]).execute()
  const checkout = randomUUID()
  await db.insertInto('checkouts').values({ id: checkout, user_id: customer, idempotency_key: 'k', currency: 'usd', total_amount: 2000, provider: 'simulator', created_at: new Date() }).execute()
  const [shipped, fresh] = [randomUUID(), randomUUID()]
  for (const [id, status] of [[shipped, 'shipped'], [fresh, 'pending']]) {
    await db.insertInto('orders').values({ id, checkout_id: checkout, workspace_id: workspace, user_id: customer, status, payment_status: status === 'pending' ? 'unpaid' : 'paid', currency: 'usd', total_amount: 1000, shipping_address: '{}', created_at: new Date(), updated_at: new Date() }).execute()
  }
  const at = (s: number) => new Date(Date.UTC(2026, 10, 21, 10, 0, s))
  await db.insertInto('order_history').values([
    { id: randomUUID(), order_id: shipped, from_status: null, to_status: 'pending', actor: 'customer', actor_id: customer, at: at(0) },
    { id: randomUUID(), order_id: shipped, from_status: 'pending', to_status: 'confirmed', actor: 'payment', actor_id: null, at: at(1) },
    { id: randomUUID(), order_id: shipped, from_status: 'confirmed', to_status: 'shipped', actor: 'workspace', actor_id: staff, at: at(2) },
    { id: randomUUID(), order_id: fresh, from_status: null, to_status: 'pending', actor: 'customer', actor_id: customer, at: at(3) }
  ]).execute()

  // Up to item 5's migration: later items' migrations have their own tests.
  const applied = describe(await migrator.migrateTo('20261201_B_order_audit'))
  t.same(applied, ['applied 20261201_A_catalog_moderation', 'applied 20261201_B_order_audit'])

  const categories = await db.selectFrom('categories').select(['slug', 'name', 'parent_id']).orderBy('slug').execute()
  t.same(categories, [
    { slug: 'shirts', name: 'Shirts', parent_id: null },
    { slug: 'tea-and-coffee', name: 'Tea and coffee', parent_id: null }
  ], 'a managed category per distinct name live products carry, named in words (a deleted product\'s is not)')
  const after = await db.selectFrom('products').select(['id', 'categories', 'unlisted_at']).orderBy('id').execute()
  t.same(after.map((p) => [p.id, p.categories, p.unlisted_at]), [...products].sort((a, b) => a.id.localeCompare(b.id)).map((p) => [p.id, p.categories, null]), 'products keep their slugs; none is unlisted')
  const ids = await db.selectFrom('categories').select('id').execute()
  t.ok(ids.every((r) => /^[0-9a-f]{8}-[0-9a-f]{4}-7/.test(r.id)), 'time-ordered ids, as the app issues')

  const orders = await db.selectFrom('orders').select(['id', 'created_by', 'updated_by']).execute()
  t.same(Object.fromEntries(orders.map((o) => [o.id, [o.created_by, o.updated_by]])), { [shipped]: [customer, staff], [fresh]: [customer, customer] },
    'created by the customer; updated by the last person in the history (the payment is nobody)')

  t.same(describe(await migrator.migrateTo(BEFORE)), ['reverted 20261201_B_order_audit', 'reverted 20261201_A_catalog_moderation'], 'both revert')
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_name in ('categories', 'product_moderation')`.execute(db)
  t.equal(rows[0]!.n, 0, 'and their tables are gone')
})
