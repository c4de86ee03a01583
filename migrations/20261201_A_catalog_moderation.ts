import { sql, type Kysely } from 'kysely'
import { v7 as uuidv7 } from 'uuid'

// Platform moderation of the catalog (issue 15, item 4):
// - categories: the managed list (slug, name, parent). Products keep carrying slugs in
//   products.categories (the catalog's filter and category_counts read them as before); a product
//   write accepts only slugs of this table, and renaming a slug rewrites the products carrying it
//   in the same transaction, so products stay attached. Existing products keep their categories:
//   every distinct name they carry becomes a managed category with that slug.
// - products.unlisted_at / unlisted_reason: a platform admin's hold on a product; the on-sale
//   rule requires it to be null, whatever the vendor does with isActive.
// - product_moderation: the audit trail of unlists and relists (who, when, why).
export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('categories')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('slug', 'text', (c) => c.notNull().unique().check(sql`slug ~ '^[a-z0-9][a-z0-9-]{0,59}$'`))
    .addColumn('name', 'text', (c) => c.notNull().check(sql`length(name) between 1 and 100`))
    .addColumn('parent_id', 'uuid', (c) => c.references('categories.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'uuid')
    .addColumn('updated_by', 'uuid')
    .addCheckConstraint('categories_not_own_parent', sql`parent_id is null or parent_id <> id`)
    .execute()
  await sql`create index categories_parent on categories (parent_id) where parent_id is not null`.execute(db)

  // Every category a live product carries, or the catalog counts, becomes a managed one; its
  // name is the slug in words ('tea-and-coffee' → 'Tea and coffee'), for an admin to refine.
  const { rows } = await sql<{ slug: string }>`
    select c.name as slug from products p cross join unnest(p.categories) as c(name) where p.deleted_at is null
    union select name from category_counts where count > 0
    order by 1`.execute(db)
  const valid = rows.map((r) => r.slug).filter((slug) => /^[a-z0-9][a-z0-9-]{0,59}$/.test(slug))
  if (valid.length > 0) {
    const names = valid.map((slug) => (slug.charAt(0).toUpperCase() + slug.slice(1).replaceAll('-', ' ')).slice(0, 100))
    await sql`insert into categories (id, slug, name)
      select * from unnest(${valid.map(() => uuidv7())}::uuid[], ${valid}::text[], ${names}::text[])`.execute(db)
  }

  // Renames and deletions look for the live products that carry a category, listed or not.
  await sql`create index products_live_categories on products using gin (categories) where deleted_at is null`.execute(db)

  await db.schema.alterTable('products')
    .addColumn('unlisted_at', 'timestamptz')
    .addColumn('unlisted_reason', 'text')
    .execute()
  await sql`create index products_unlisted on products (id desc) where unlisted_at is not null and deleted_at is null`.execute(db)

  await db.schema.createTable('product_moderation')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('product_id', 'uuid', (c) => c.notNull().references('products.id'))
    .addColumn('action', 'text', (c) => c.notNull().check(sql`action in ('unlist', 'relist')`))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'uuid', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .execute()
  await sql`create index product_moderation_product on product_moderation (product_id, at)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('product_moderation').execute()
  await sql`drop index products_unlisted`.execute(db)
  await db.schema.alterTable('products').dropColumn('unlisted_reason').dropColumn('unlisted_at').execute()
  await sql`drop index products_live_categories`.execute(db)
  await db.schema.dropTable('categories').execute()
}
