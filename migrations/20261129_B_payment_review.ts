import { sql, type Kysely } from 'kysely'

// Money that always adds up (issue 9, items 4-5):
// - checkouts.amount_received: what the provider captured, set once when the payment is applied
//   (null until then); the checkout's invariant is captured − refunded = what its live orders owe.
// - orders.paid_amount: what of the payment belongs to this order (its total once paid; for an
//   order cancelled before a payment that still covered it, that share, refunded at once);
//   refunds of an order add up to at most this.
// - payment_reviews: a payment whose amount or currency does not match what the checkout owes
//   confirms nothing and is kept here for a person to look at.
export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('checkouts')
    .addColumn('amount_received', 'integer', (c) => c.check(sql`amount_received >= 0`))
    .execute()
  // Checkouts paid before this migration captured their whole total.
  await sql`update checkouts c set amount_received = c.total_amount
    where exists (select 1 from orders o where o.checkout_id = c.id and o.paid_at is not null)`.execute(db)
  await db.schema.alterTable('orders')
    .addColumn('paid_amount', 'integer', (c) => c.notNull().defaultTo(0).check(sql`paid_amount >= 0 and paid_amount <= total_amount`))
    .execute()
  await sql`update orders set paid_amount = total_amount where paid_at is not null`.execute(db)

  await db.schema.createTable('payment_reviews')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('checkout_id', 'uuid', (c) => c.notNull().references('checkouts.id'))
    .addColumn('payment_intent_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('expected_amount', 'integer', (c) => c.notNull())
    .addColumn('expected_currency', 'text', (c) => c.notNull())
    .addColumn('received_amount', 'integer')
    .addColumn('received_currency', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('resolved_at', 'timestamptz')
    .execute()
  await sql`create index payment_reviews_open on payment_reviews (checkout_id) where resolved_at is null`.execute(db)
  await sql`create index refunds_provider on refunds (provider_refund_id) where provider_refund_id is not null`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop index refunds_provider`.execute(db)
  await db.schema.dropTable('payment_reviews').execute()
  await db.schema.alterTable('orders').dropColumn('paid_amount').execute()
  await db.schema.alterTable('checkouts').dropColumn('amount_received').execute()
}
