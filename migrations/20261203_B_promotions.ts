import { sql, type Kysely } from 'kysely'

// Promotion codes (issue 14, plan §4 WP2). A code is platform-wide (workspace_id null) or a
// workspace's own (then always vendor-funded). The database itself refuses overuse: used_count
// never passes max_uses, whatever the code does. A customer's uses are counted per code; each
// checkout that used one is a redemption (once per checkout). A cart holds at most one code.
export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('promotions')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('code_key', 'text', (c) => c.notNull().check(sql`code_key ~ '^[A-Z0-9_-]{3,32}$'`))
    .addColumn('workspace_id', 'uuid', (c) => c.references('workspaces.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('percent', 'fixed')`))
    .addColumn('percent_bps', 'integer', (c) => c.check(sql`percent_bps between 1 and 10000`))
    .addColumn('amount_off', 'integer', (c) => c.check(sql`amount_off > 0`))
    .addColumn('currency', 'text', (c) => c.check(sql`currency ~ '^[a-z]{3}$'`))
    .addColumn('min_subtotal', 'integer', (c) => c.check(sql`min_subtotal >= 0`))
    .addColumn('funded_by', 'text', (c) => c.notNull().check(sql`funded_by in ('platform', 'vendor')`))
    .addColumn('starts_at', 'timestamptz')
    .addColumn('ends_at', 'timestamptz')
    .addColumn('max_uses', 'integer', (c) => c.check(sql`max_uses > 0`))
    .addColumn('max_uses_per_customer', 'integer', (c) => c.check(sql`max_uses_per_customer > 0`))
    .addColumn('used_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_by', 'uuid', (c) => c.references('users.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('deleted_at', 'timestamptz')
    .addCheckConstraint('promotions_window', sql`ends_at is null or starts_at is null or ends_at > starts_at`)
    .addCheckConstraint('promotions_kind_terms', sql`(kind = 'percent' and percent_bps is not null and amount_off is null)
      or (kind = 'fixed' and amount_off is not null and currency is not null and percent_bps is null)`)
    .addCheckConstraint('promotions_min_subtotal_currency', sql`min_subtotal is null or currency is not null`)
    .addCheckConstraint('promotions_workspace_vendor_funded', sql`workspace_id is null or funded_by = 'vendor'`)
    // The database refuses overuse, whatever the code does.
    .addCheckConstraint('promotions_within_max_uses', sql`used_count >= 0 and (max_uses is null or used_count <= max_uses)`)
    .execute()
  await sql`create unique index promotions_code_key on promotions (code_key) where deleted_at is null`.execute(db)
  await sql`create index promotions_workspace on promotions (workspace_id, id) where deleted_at is null`.execute(db)

  await db.schema.createTable('promotion_customer_uses')
    .addColumn('promotion_id', 'uuid', (c) => c.notNull().references('promotions.id'))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id'))
    .addColumn('uses', 'integer', (c) => c.notNull().check(sql`uses > 0`))
    .addPrimaryKeyConstraint('promotion_customer_uses_pk', ['promotion_id', 'user_id'])
    .execute()

  await db.schema.createTable('promotion_redemptions')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('promotion_id', 'uuid', (c) => c.notNull().references('promotions.id'))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id'))
    .addColumn('checkout_id', 'uuid', (c) => c.notNull().references('checkouts.id'))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('discount_amount', 'integer', (c) => c.notNull().check(sql`discount_amount >= 0`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('promotion_redemptions_once', ['promotion_id', 'checkout_id'])
    .execute()

  await db.schema.createTable('cart_promotions')
    .addColumn('user_id', 'uuid', (c) => c.primaryKey().references('users.id'))
    .addColumn('promotion_id', 'uuid', (c) => c.notNull().references('promotions.id'))
    .addColumn('applied_at', 'timestamptz', (c) => c.notNull())
    .execute()

  await sql`alter table orders add constraint orders_promotion_fk foreign key (promotion_id) references promotions(id)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`alter table orders drop constraint orders_promotion_fk`.execute(db)
  await db.schema.dropTable('cart_promotions').execute()
  await db.schema.dropTable('promotion_redemptions').execute()
  await db.schema.dropTable('promotion_customer_uses').execute()
  await db.schema.dropTable('promotions').execute()
}
