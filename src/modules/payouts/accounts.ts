import { sql, type Expression } from 'kysely'
import type { Queryable, Trx } from '../../platform/db.ts'
import type { Deps } from '../../platform/deps.ts'
import type { ConnectAccountState } from '../../platform/payment-connect.ts'
import { accountStatus } from './status.ts'

// The payout_accounts table: one row per workspace that started onboarding or was given a
// commission override. The provider's flags are written only by applyAccountState (the newest
// state Stripe reported wins), the account id only once (onboarding.ts), the override only by
// an admin (commission.ts).

export function commissionOverrides (db: Queryable, workspaceIds: Expression<readonly string[]>) {
  return db.selectFrom('payoutAccounts')
    .select(['payoutAccounts.workspaceId', 'payoutAccounts.commissionBps'])
    .where(sql<boolean>`payout_accounts.workspace_id = any(cast(${workspaceIds} as uuid[]))`)
    .where('payoutAccounts.commissionBps', 'is not', null)
}

export async function lockReadiness (trx: Trx, workspaceIds: string[]): Promise<Map<string, { accountId: string | null, enabled: boolean }>> {
  const ready = new Map(workspaceIds.map((id) => [id, { accountId: null as string | null, enabled: false }]))
  if (workspaceIds.length === 0) return ready
  const rows = await trx.selectFrom('payoutAccounts')
    .select(['workspaceId', 'stripeAccountId', 'status'])
    .where('workspaceId', '=', sql<string>`any(${sql.val(workspaceIds)}::uuid[])`)
    .orderBy('workspaceId')
    .forShare()
    .execute()
  for (const row of rows) ready.set(row.workspaceId, { accountId: row.stripeAccountId, enabled: row.status === 'enabled' })
  return ready
}

/**
 * Writes what the provider reported of an account (read at `observedAt`), under its row lock.
 * A report older than the one applied last changes nothing, so deliveries in any order end on
 * the newest state. Null when the account is not ours.
 */
export async function applyState (trx: Trx, deps: Deps, state: ConnectAccountState, observedAt: Date): Promise<{ workspaceId: string, becameEnabled: boolean } | null> {
  const row = await trx.selectFrom('payoutAccounts')
    .select(['workspaceId', 'status', 'providerStateAt'])
    .where('stripeAccountId', '=', state.id)
    .forUpdate()
    .executeTakeFirst()
  if (!row) return null
  if (row.providerStateAt !== null && row.providerStateAt > observedAt) return { workspaceId: row.workspaceId, becameEnabled: false }
  const status = accountStatus(state)
  await trx.updateTable('payoutAccounts')
    .set({
      status,
      chargesEnabled: state.chargesEnabled,
      payoutsEnabled: state.payoutsEnabled,
      detailsSubmitted: state.detailsSubmitted,
      transfersCapability: state.transfersCapability,
      requirementsDue: state.requirementsDue,
      disabledReason: state.disabledReason,
      providerStateAt: observedAt,
      updatedAt: deps.clock.now()
    })
    .where('workspaceId', '=', row.workspaceId)
    .execute()
  if (row.status !== status) deps.log.info({ workspaceId: row.workspaceId, from: row.status, to: status }, 'payout account status changed')
  return { workspaceId: row.workspaceId, becameEnabled: status === 'enabled' && row.status !== 'enabled' }
}

export type AccountKey = { accountId: string } | { workspaceId: string }

export async function accountOf (db: Queryable, key: AccountKey): Promise<{ workspaceId: string, accountId: string } | null> {
  const row = await db.selectFrom('payoutAccounts').select(['workspaceId', 'stripeAccountId'])
    .where('stripeAccountId', 'is not', null)
    .$if('accountId' in key, (q) => q.where('stripeAccountId', '=', (key as { accountId: string }).accountId))
    .$if('workspaceId' in key, (q) => q.where('workspaceId', '=', (key as { workspaceId: string }).workspaceId))
    .executeTakeFirst()
  return row ? { workspaceId: row.workspaceId, accountId: row.stripeAccountId! } : null
}
