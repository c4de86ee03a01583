import { sql, type Kysely } from 'kysely'

// The ledger (issue 14, plan §2.6, §3.5, §7): what each vendor earned, what the platform kept,
// and what was sent to the vendor's connected account. Vendor transfers and their reversals
// are the provider calls to make (each exactly once); ledger rows record what happened and are
// never changed (a trigger refuses UPDATE and DELETE). A sale is recorded once per order and a
// transfer or reversal once per bucket, whatever is replayed (unique indexes).
export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('vendor_transfers')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('order_id', 'uuid', (c) => c.notNull().references('orders.id'))
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('sale').check(sql`kind in ('sale', 'topup')`))
    .addColumn('workspace_id', 'uuid', (c) => c.notNull().references('workspaces.id'))
    .addColumn('checkout_id', 'uuid', (c) => c.notNull().references('checkouts.id'))
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency ~ '^[a-z]{3}$'`))
    // Due: lowered by refunds until claimed, frozen from then on (refunds become reversals).
    .addColumn('amount', 'integer', (c) => c.notNull().check(sql`amount >= 0`))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('waiting', 'queued', 'in_flight', 'paid', 'failed', 'void')`))
    .addColumn('source_charge_id', 'text')
    .addColumn('stripe_transfer_id', 'text', (c) => c.unique())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0).check(sql`attempts >= 0`))
    // Refusals for now (the account could not take transfers): the provider keeps a refused
    // answer under its idempotency key, so the next try after one uses a new key.
    .addColumn('refusals', 'integer', (c) => c.notNull().defaultTo(0).check(sql`refusals >= 0`))
    .addColumn('last_error', 'text')
    .addColumn('claimed_at', 'timestamptz')
    .addColumn('paid_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await sql`create unique index vendor_transfers_one_sale on vendor_transfers (order_id) where kind = 'sale'`.execute(db)
  await sql`create index vendor_transfers_workspace on vendor_transfers (workspace_id, status)`.execute(db)
  await sql`create index vendor_transfers_open on vendor_transfers (status, updated_at) where status in ('waiting', 'queued', 'in_flight')`.execute(db)
  await sql`create index vendor_transfers_list on vendor_transfers (id desc)`.execute(db)

  await db.schema.createTable('transfer_reversals')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('transfer_id', 'uuid', (c) => c.notNull().references('vendor_transfers.id'))
    // No foreign key: refund settlement may fold a refund row into others (moveProviderShares).
    .addColumn('refund_id', 'uuid')
    .addColumn('amount', 'integer', (c) => c.notNull().check(sql`amount > 0`))
    // void: its transfer was refused before it was made, so the reversal is folded into the transfer's amount.
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'paid', 'failed', 'void')`))
    .addColumn('stripe_reversal_id', 'text', (c) => c.unique())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0).check(sql`attempts >= 0`))
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('paid_at', 'timestamptz')
    .execute()
  await sql`create unique index transfer_reversals_one_per_refund on transfer_reversals (refund_id) where refund_id is not null`.execute(db)
  await sql`create index transfer_reversals_transfer on transfer_reversals (transfer_id)`.execute(db)
  await sql`create index transfer_reversals_pending on transfer_reversals (status, updated_at) where status = 'pending'`.execute(db)

  await db.schema.createTable('ledger_entries')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    // null: the platform's row.
    .addColumn('workspace_id', 'uuid', (c) => c.references('workspaces.id'))
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency ~ '^[a-z]{3}$'`))
    .addColumn('bucket', 'text', (c) => c.notNull().check(sql`bucket in ('pending', 'paid_out', 'platform')`))
    .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('sale', 'commission', 'discount_funding', 'refund', 'commission_refund', 'funding_refund', 'transfer', 'transfer_reversal', 'adjustment')`))
    .addColumn('amount', 'integer', (c) => c.notNull().check(sql`amount <> 0`))
    .addColumn('order_id', 'uuid', (c) => c.references('orders.id'))
    .addColumn('refund_id', 'uuid')
    .addColumn('transfer_id', 'uuid', (c) => c.references('vendor_transfers.id'))
    .addColumn('reversal_id', 'uuid', (c) => c.references('transfer_reversals.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addCheckConstraint('ledger_entries_owner', sql`(workspace_id is null) = (bucket = 'platform')`)
    .execute()
  await sql`create index ledger_entries_workspace on ledger_entries (workspace_id, currency, id desc)`.execute(db)
  await sql`create index ledger_entries_platform on ledger_entries (currency, type, created_at) where workspace_id is null`.execute(db)
  await sql`create unique index ledger_entries_one_sale on ledger_entries (order_id, type, bucket) where type in ('sale', 'commission', 'discount_funding')`.execute(db)
  await sql`create unique index ledger_entries_one_transfer on ledger_entries (transfer_id, type, bucket) where type = 'transfer'`.execute(db)
  await sql`create unique index ledger_entries_one_reversal on ledger_entries (reversal_id, bucket) where reversal_id is not null`.execute(db)

  await sql`create function ledger_immutable() returns trigger language plpgsql as $$
    begin
      raise exception 'ledger entries are immutable' using errcode = 'restrict_violation';
    end
  $$`.execute(db)
  await sql`create trigger ledger_entries_immutable before update or delete on ledger_entries
    for each row execute function ledger_immutable()`.execute(db)
  await sql`create trigger ledger_entries_no_truncate before truncate on ledger_entries
    for each statement execute function ledger_immutable()`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await sql`drop table ledger_entries`.execute(db)
  await sql`drop function ledger_immutable()`.execute(db)
  await sql`drop table transfer_reversals`.execute(db)
  await sql`drop table vendor_transfers`.execute(db)
}
