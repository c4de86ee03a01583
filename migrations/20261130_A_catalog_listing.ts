import { sql, type Kysely } from 'kysely'

// A catalog whose cost does not grow with its size (issue 11):
// - products.listed: the on-sale rule (products' onSale: active, not deleted, in a live workspace
//   whose owner is an active user with an approved vendor profile) kept on the row, in step with
//   its inputs in the transactions that change them (products/listing.ts), so catalog reads
//   filter on one column instead of joining workspaces, users and vendor profiles per product.
// - category_counts: how many listed products carry each category, kept in step with `listed`
//   and `categories` in the same transactions, so GET /categories reads a few rows.
// - Partial indexes `where listed` for each sort (newest, price both ways, per workspace) and
//   filter (full text, category, size), replacing those on `deleted_at is null and is_active`.
export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('products').addColumn('listed', 'boolean', (c) => c.notNull().defaultTo(false)).execute()
  // The rule as the app states it today; from here on the app keeps the flag in step.
  await sql`update products p set listed = true
    where p.deleted_at is null and p.is_active and exists (select 1 from workspaces w
      where w.id = p.workspace_id and w.deleted_at is null
        and exists (select 1 from users u where u.id = w.owner_id and u.status = 'active' and u.deleted_at is null)
        and exists (select 1 from vendor_profiles vp where vp.user_id = w.owner_id and vp.deleted_at is null and vp.review_status = 'approved'))`.execute(db)

  await db.schema.createTable('category_counts')
    .addColumn('name', 'text', (c) => c.primaryKey())
    // No check on the sign: an upsert checks the row it would insert before it finds the
    // conflict, and a decrement arrives as a row of -1.
    .addColumn('count', 'integer', (c) => c.notNull())
    .execute()
  await sql`insert into category_counts (name, count)
    select c.name, count(*) from products p cross join unnest(p.categories) as c(name) where p.listed group by c.name`.execute(db)
  await sql`create index category_counts_top on category_counts (count desc, name) where count > 0`.execute(db)

  for (const name of ['products_search', 'products_categories', 'products_sizes', 'products_newest', 'products_price']) {
    await sql`drop index ${sql.id(name)}`.execute(db)
  }
  await sql`create index products_listed_newest on products (id desc) where listed`.execute(db)
  await sql`create index products_listed_price on products (effective_amount, id) where listed`.execute(db)
  await sql`create index products_listed_workspace on products (workspace_id, id desc) where listed`.execute(db)
  await sql`create index products_listed_workspace_price on products (workspace_id, effective_amount, id) where listed`.execute(db)
  await sql`create index products_listed_search on products using gin (search) where listed`.execute(db)
  await sql`create index products_listed_categories on products using gin (categories) where listed`.execute(db)
  await sql`create index products_listed_sizes on products using gin (sizes) where listed`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  for (const name of ['products_listed_newest', 'products_listed_price', 'products_listed_workspace', 'products_listed_workspace_price', 'products_listed_search', 'products_listed_categories', 'products_listed_sizes']) {
    await sql`drop index ${sql.id(name)}`.execute(db)
  }
  await sql`create index products_search on products using gin (search) where deleted_at is null and is_active`.execute(db)
  await sql`create index products_categories on products using gin (categories) where deleted_at is null and is_active`.execute(db)
  await sql`create index products_sizes on products using gin (sizes) where deleted_at is null and is_active`.execute(db)
  await sql`create index products_newest on products (id desc) where deleted_at is null and is_active`.execute(db)
  await sql`create index products_price on products (effective_amount, id) where deleted_at is null and is_active`.execute(db)
  await db.schema.dropTable('category_counts').execute()
  await db.schema.alterTable('products').dropColumn('listed').execute()
}
