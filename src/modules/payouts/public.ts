import type { Expression } from 'kysely'
import type { Config } from '../../config.ts'
import type { Queryable, Trx } from '../../platform/db.ts'
import type { Deps } from '../../platform/deps.ts'
import type { ConnectAccountState } from '../../platform/payment-connect.ts'
import { accountOf, applyState, commissionOverrides, lockReadiness, type AccountKey } from './accounts.ts'

// What other modules may use of `payouts` (issue 14): each workspace's commission, whether it
// can be paid now, and applying what the provider reports of its connected account. Its routes
// plugin is index.ts, registered by app.ts.

export { accountStatus, type PayoutStatus } from './status.ts'

/** The platform's commission when a workspace has no override (PLATFORM_COMMISSION_BPS). */
export function defaultCommissionBps (config: Config): number {
  return config.payments.commissionBps
}

/** Per workspace (an SQL `uuid[]`) that has an override, its commission, as a subquery the caller folds into its statement. */
export function commissionFacts (db: Queryable, workspaceIds: Expression<readonly string[]>) {
  return commissionOverrides(db, workspaceIds)
}

/** Locks (for share, in workspace-id order) the payout accounts of these workspaces: whether each can be paid now. */
export async function lockPayoutReadiness (trx: Trx, workspaceIds: string[]): Promise<Map<string, { accountId: string | null, enabled: boolean }>> {
  return lockReadiness(trx, workspaceIds)
}

/**
 * Applies the provider's state of an account, read at `observedAt` (default now; an older read
 * than the last applied changes nothing); says whether its workspace just became payable.
 * Null when the account is not ours.
 */
export async function applyAccountState (trx: Trx, deps: Deps, state: ConnectAccountState, observedAt: Date = deps.clock.now()): Promise<{ workspaceId: string, becameEnabled: boolean } | null> {
  return applyState(trx, deps, state, observedAt)
}

/** The connected account by its provider id, or a workspace's: null when there is none. */
export async function payoutAccountOf (db: Queryable, key: AccountKey): Promise<{ workspaceId: string, accountId: string } | null> {
  return accountOf(db, key)
}
