import { sql, type Expression } from 'kysely'
import type { Config } from '../../config.ts'
import type { Queryable, Trx } from '../../platform/db.ts'
import type { Deps } from '../../platform/deps.ts'
import type { ConnectAccountState } from '../../platform/payment-connect.ts'

// What other modules may use of `payouts` (issue 14). A stub until its work package lands: no
// workspace has a connected account or a commission override, and the default commission is
// fixed. The signatures are the contract.

/** The platform's commission when a workspace has no override (its work package reads it from config). */
export function defaultCommissionBps (config: Config): number {
  return 1000
}

/** Per workspace (an SQL `uuid[]`), its commission override (null: the default), as a subquery the caller folds into its statement. */
export function commissionFacts (db: Queryable, workspaceIds: Expression<readonly string[]>) {
  return db.selectNoFrom([sql<string>`null::uuid`.as('workspaceId'), sql<number | null>`null::int`.as('commissionBps')])
    .where(sql<boolean>`false`)
}

/** Locks (for share) the payout accounts of these workspaces: whether each can be paid now. */
export async function lockPayoutReadiness (trx: Trx, workspaceIds: string[]): Promise<Map<string, { accountId: string | null, enabled: boolean }>> {
  return new Map(workspaceIds.map((id) => [id, { accountId: null, enabled: false }]))
}

/** Applies the provider's state of an account; says whether its workspace just became payable. */
export async function applyAccountState (trx: Trx, deps: Deps, state: ConnectAccountState): Promise<{ workspaceId: string, becameEnabled: boolean } | null> {
  return null
}
