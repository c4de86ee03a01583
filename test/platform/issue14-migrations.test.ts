import { randomUUID } from 'node:crypto'
import t from 'tap'
import { databaseMigratedTo } from '../helpers/migrations.ts'
import { describe } from '../../src/platform/migrator.ts'

// Issue 14: the totals migration keeps what a database already holds. Orders and checkouts
// placed before had no discount, shipping or tax, so their subtotal is their total (the check
// that a total is its parts then holds for them), and their items carry no discount or tax.

const BEFORE = '20261202_C_phone_verification'
const TOTALS = '20261203_A_order_totals'

t.test('existing orders and checkouts get their subtotal; the migration goes down and up again', async (t) => {
  const { db, migrator } = await databaseMigratedTo(t, BEFORE)
  const [owner, customer] = [randomUUID(), randomUUID()]
  for (const [id, type] of [[owner, 'vendor'], [customer, 'customer']]) {
    await db.insertInto('users').values({ id, email: `${id}@example.test`, name: 'Someone', type, status: 'active' }).execute()
  }
  const workspace = randomUUID()
  await db.insertInto('workspaces').values({ id: workspace, name: 'Old store', slug: `old-${workspace.slice(0, 8)}`, owner_id: owner }).execute()
  const product = randomUUID()
  await db.insertInto('products').values({ id: product, workspace_id: workspace, title: 'Old product', price_amount: 1250, currency: 'usd', categories: [], listed: true }).execute()
  const variant = randomUUID()
  await db.insertInto('product_variants').values({ id: variant, product_id: product, workspace_id: workspace, sku: 'OLD-1', stock: 3 }).execute()
  const checkout = randomUUID()
  await db.insertInto('checkouts').values({ id: checkout, user_id: customer, idempotency_key: 'k', currency: 'usd', total_amount: 2500, provider: 'simulator', created_at: new Date() }).execute()
  const order = randomUUID()
  await db.insertInto('orders').values({ id: order, checkout_id: checkout, workspace_id: workspace, user_id: customer, status: 'pending', payment_status: 'unpaid', currency: 'usd', total_amount: 2500, shipping_address: '{}', created_at: new Date(), updated_at: new Date() }).execute()
  await db.insertInto('order_items').values({ id: randomUUID(), order_id: order, product_id: product, variant_id: variant, title: 'Old product', sku: 'OLD-1', unit_amount: 1250, quantity: 2, line_amount: 2500 }).execute()

  t.same(describe(await migrator.migrateTo(TOTALS)), [`applied ${TOTALS}`])
  t.same(await db.selectFrom('orders').select(['subtotal_amount', 'discount_amount', 'shipping_amount', 'tax_amount', 'tax_inclusive', 'total_amount', 'commission_bps', 'commission_amount', 'promotion_id']).execute(),
    [{ subtotal_amount: 2500, discount_amount: 0, shipping_amount: 0, tax_amount: 0, tax_inclusive: false, total_amount: 2500, commission_bps: 0, commission_amount: 0, promotion_id: null }],
    'an order placed before: its subtotal is its total; no commission was agreed then')
  t.same(await db.selectFrom('order_items').select(['discount_amount', 'tax_amount']).execute(), [{ discount_amount: 0, tax_amount: 0 }], 'its items: no discount, no tax')
  t.same(await db.selectFrom('checkouts').select(['subtotal_amount', 'discount_amount', 'shipping_amount', 'tax_amount', 'total_amount', 'promotion_code']).execute(),
    [{ subtotal_amount: 2500, discount_amount: 0, shipping_amount: 0, tax_amount: 0, total_amount: 2500, promotion_code: null }], 'its checkout likewise')

  t.same(describe(await migrator.migrateDown()), [`reverted ${TOTALS}`], 'down')
  const columns = await db.selectFrom('information_schema.columns').select('column_name').where('table_name', '=', 'orders').where('column_name', '=', 'subtotal_amount').execute()
  t.same(columns, [], 'the columns are gone')
  t.same(describe(await migrator.migrateTo(TOTALS)), [`applied ${TOTALS}`], 'and up again')
})
