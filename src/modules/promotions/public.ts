import { sql } from 'kysely'
import type { Queryable, Trx } from '../../platform/db.ts'
import type { Deps } from '../../platform/deps.ts'

// What other modules may use of `promotions` (issue 14). A stub until its work package lands:
// no code is ever applied, so there is never one to consume. The signatures are the contract.

/**
 * The code the customer applied to the cart, when it is live now, with how many times this
 * customer has used it: one row or none, as a subquery the caller folds into its statement.
 * `userId` may stand for a value of a statement compiled once (the cart's add): use it only as
 * a value, never branch on it.
 */
export function appliedPromotionFacts (db: Queryable, userId: string) {
  return db.selectNoFrom([
    sql<string>`null::uuid`.as('id'),
    sql<string>`null::text`.as('code'),
    sql<string | null>`null::uuid`.as('workspaceId'),
    sql<'percent' | 'fixed'>`null::text`.as('kind'),
    sql<number | null>`null::int`.as('percentBps'),
    sql<number | null>`null::int`.as('amountOff'),
    sql<string | null>`null::text`.as('currency'),
    sql<number | null>`null::int`.as('minSubtotal'),
    sql<'platform' | 'vendor'>`null::text`.as('fundedBy'),
    sql<number>`0`.as('customerUses')
  ]).where(sql<boolean>`false`)
}

export interface PromotionUse { promotionId: string, userId: string, checkoutId: string, currency: string, discount: number }

/**
 * Takes one use of the code in the checkout's transaction (one guarded statement), or throws
 * Conflict('PROMOTION_UNAVAILABLE') so the whole checkout rolls back. Called after placeOrders:
 * the redemption it records names the checkout row.
 */
export async function consumePromotion (trx: Trx, deps: Deps, use: PromotionUse): Promise<void> {}
