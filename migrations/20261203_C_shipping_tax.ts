import { sql, type Kysely } from 'kysely'

// Shipping rates and tax rates (issue 14, plan §3.2 and §3.3). A workspace's shipping rates
// (flat, or free over a threshold), for every country or a list of them; the platform's tax
// rates by destination country and region (one live rate per place, kept by the database).
// Both are soft-deleted: orders keep their own copy of the rate's name and amounts.
export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('shipping_rates')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('workspace_id', 'uuid', (c) => c.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (c) => c.notNull().check(sql`length(name) between 1 and 100`))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('flat', 'free_over')`))
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency ~ '^[a-z]{3}$'`))
    .addColumn('amount', 'integer', (c) => c.notNull().check(sql`amount between 0 and 99999999`))
    .addColumn('free_over_amount', 'integer', (c) => c.check(sql`free_over_amount between 0 and 99999999`))
    .addColumn('countries', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`).check(sql`cardinality(countries) <= 250`))
    .addColumn('is_active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('deleted_at', 'timestamptz')
    .addCheckConstraint('shipping_rates_threshold_with_free_over', sql`(kind = 'free_over') = (free_over_amount is not null)`)
    .execute()
  // Checkout and the cart read a workspace's live rates (and whether it has any) by this index.
  await sql`create index shipping_rates_workspace on shipping_rates (workspace_id, id) where deleted_at is null`.execute(db)

  await db.schema.createTable('tax_rates')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('country', 'text', (c) => c.notNull().check(sql`country ~ '^[A-Z]{2}$'`))
    .addColumn('region', 'text', (c) => c.check(sql`region ~ '^[A-Z0-9-]{1,10}$'`))
    .addColumn('name', 'text', (c) => c.notNull().check(sql`length(name) between 1 and 100`))
    .addColumn('rate_bps', 'integer', (c) => c.notNull().check(sql`rate_bps between 0 and 10000`))
    .addColumn('inclusive', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_by', 'uuid', (c) => c.references('users.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('deleted_at', 'timestamptz')
    .execute()
  // One live rate per country and region (no region: the whole country), whatever the concurrency.
  await sql`create unique index tax_rates_place on tax_rates (country, coalesce(region, '')) where deleted_at is null`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('tax_rates').execute()
  await db.schema.dropTable('shipping_rates').execute()
}
