import { sql } from 'kysely'
import type { TestEnv } from './app.ts'

// Reading the ledger back in tests: the vendor transfers of a checkout, and the raw sums the
// reconciliation identities are checked against.

export async function transfersOf (env: TestEnv, checkoutId: string) {
  return env.app.db.selectFrom('vendorTransfers').selectAll().where('checkoutId', '=', checkoutId).orderBy('workspaceId').execute()
}

/** Σ of ledger rows per bucket for a workspace (null: the platform) in a currency. */
export async function ledgerSums (env: TestEnv, workspaceId: string | null, currency = 'usd'): Promise<{ pending: number, paidOut: number, platform: number, total: number }> {
  const rows = await env.app.db.selectFrom('ledgerEntries').select(['bucket', sql<string>`sum(amount)`.as('sum')])
    .where('currency', '=', currency)
    .where((eb) => workspaceId === null ? eb('workspaceId', 'is', null) : eb('workspaceId', '=', workspaceId))
    .groupBy('bucket').execute()
  const of = (bucket: string) => Number(rows.find((r) => r.bucket === bucket)?.sum ?? 0)
  return { pending: of('pending'), paidOut: of('paid_out'), platform: of('platform'), total: of('pending') + of('paid_out') + of('platform') }
}

/**
 * What the ledger must say a workspace earned, computed from orders and refunds alone (plan
 * §3.5): Σ paid − Σ refunded − Σ (commission − commission returned) + Σ (funding − funding returned),
 * with the returned parts rounded half up on each order's cumulative refunded amount.
 */
export async function expectedEarnings (env: TestEnv, workspaceId: string, currency = 'usd'): Promise<number> {
  const { rows } = await sql<{ earned: string }>`
    select coalesce(sum(paid_amount - refunded_amount
      - (commission_amount - case when paid_amount = 0 then 0 else floor((2 * refunded_amount::numeric * commission_amount + paid_amount) / (2 * paid_amount)) end)
      + (platform_funded_discount - case when paid_amount = 0 then 0 else floor((2 * refunded_amount::numeric * platform_funded_discount + paid_amount) / (2 * paid_amount)) end)), 0) as earned
    from orders where workspace_id = ${workspaceId} and currency = ${currency} and paid_amount > 0`.execute(env.app.db)
  return Number(rows[0]!.earned)
}
