import { sql, type Kysely } from 'kysely'

// Payout accounts (issue 14, plan §WP4): one row per workspace that started Stripe Connect
// onboarding or was given a commission override. The provider's account id is unique (one
// Stripe account belongs to one workspace) and is set once; its flags mirror what Stripe last
// reported (provider_state_at: when it was read), and `status` is derived from them
// (modules/payouts/status.ts). `commission_bps` null means the platform's default
// (PLATFORM_COMMISSION_BPS).
export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.createTable('payout_accounts')
    .addColumn('workspace_id', 'uuid', (c) => c.primaryKey().references('workspaces.id').onDelete('cascade'))
    .addColumn('stripe_account_id', 'text', (c) => c.unique())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('not_started').check(sql`status in ('not_started', 'pending', 'enabled', 'restricted')`))
    .addColumn('charges_enabled', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('payouts_enabled', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('details_submitted', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('transfers_capability', 'text', (c) => c.check(sql`transfers_capability in ('active', 'inactive', 'pending')`))
    .addColumn('requirements_due', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('disabled_reason', 'text')
    .addColumn('commission_bps', 'integer', (c) => c.check(sql`commission_bps between 0 and 10000`))
    .addColumn('commission_set_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('provider_state_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    // An account exactly when onboarding started: no status without one, none left not_started with one.
    .addCheckConstraint('payout_accounts_status_needs_account', sql`(status = 'not_started') = (stripe_account_id is null)`)
    .execute()
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('payout_accounts').execute()
}
