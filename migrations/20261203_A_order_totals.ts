import { sql, type Kysely } from 'kysely'

// Totals on orders and checkouts (issue 14, plan §3): what a checkout priced is frozen where it
// was paid for. An order's total is what its customer pays for it (shipping and exclusive tax
// included), so every money invariant built on total_amount holds as before; the parts beside
// it, and the commission of that moment (a later change of rate alters no placed order).
// Orders placed before have no discount, shipping or tax: their subtotal is their total.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`alter table orders
    add column subtotal_amount integer not null default 0 check (subtotal_amount >= 0),
    add column discount_amount integer not null default 0 check (discount_amount >= 0),
    add column platform_funded_discount integer not null default 0 check (platform_funded_discount between 0 and discount_amount),
    add column shipping_amount integer not null default 0 check (shipping_amount >= 0),
    add column shipping_rate_id uuid,
    add column shipping_rate_name text,
    add column tax_amount integer not null default 0 check (tax_amount >= 0),
    add column tax_inclusive boolean not null default false,
    add column tax_rate_bps integer check (tax_rate_bps between 0 and 10000),
    add column commission_bps integer not null default 0 check (commission_bps between 0 and 10000),
    add column commission_amount integer not null default 0 check (commission_amount >= 0),
    add column promotion_id uuid`.execute(db)
  await sql`update orders set subtotal_amount = total_amount`.execute(db)
  // Kept by the database: the total is its parts (inclusive tax is already inside the subtotal).
  await sql`alter table orders add constraint orders_total_is_its_parts
    check (total_amount = subtotal_amount - discount_amount + shipping_amount + case when tax_inclusive then 0 else tax_amount end)`.execute(db)

  await sql`alter table order_items
    add column discount_amount integer not null default 0 check (discount_amount >= 0),
    add column tax_amount integer not null default 0 check (tax_amount >= 0),
    add constraint order_items_discount_within_line check (discount_amount <= line_amount)`.execute(db)

  await sql`alter table checkouts
    add column subtotal_amount integer not null default 0 check (subtotal_amount >= 0),
    add column discount_amount integer not null default 0 check (discount_amount >= 0),
    add column shipping_amount integer not null default 0 check (shipping_amount >= 0),
    add column tax_amount integer not null default 0 check (tax_amount >= 0),
    add column tax_inclusive boolean not null default false,
    add column promotion_code text`.execute(db)
  await sql`update checkouts set subtotal_amount = total_amount`.execute(db)
  await sql`alter table checkouts add constraint checkouts_total_is_its_parts
    check (total_amount = subtotal_amount - discount_amount + shipping_amount + case when tax_inclusive then 0 else tax_amount end)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`alter table checkouts drop constraint checkouts_total_is_its_parts,
    drop column subtotal_amount, drop column discount_amount, drop column shipping_amount, drop column tax_amount, drop column tax_inclusive, drop column promotion_code`.execute(db)
  await sql`alter table order_items drop constraint order_items_discount_within_line, drop column discount_amount, drop column tax_amount`.execute(db)
  await sql`alter table orders drop constraint orders_total_is_its_parts,
    drop column subtotal_amount, drop column discount_amount, drop column platform_funded_discount, drop column shipping_amount,
    drop column shipping_rate_id, drop column shipping_rate_name, drop column tax_amount, drop column tax_inclusive, drop column tax_rate_bps,
    drop column commission_bps, drop column commission_amount, drop column promotion_id`.execute(db)
}
