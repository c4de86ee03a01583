import { sql } from 'kysely'
import type { Queryable } from '../../platform/db.ts'

// The code a customer's cart holds, as pricing reads it (plan §2.3): a subquery the caller folds
// into a statement it runs anyway (checkout's facts, the cart's read or add). The row is there
// whenever the cart holds a code, live or not: `unavailable` says why a code no longer can be
// used (pricing then reports PROMOTION_UNAVAILABLE, and checkout refuses), so a customer who
// applied a code is never charged without it unawares.

/** Why a held code cannot be used now; null: it can (as far as this snapshot shows). */
export type Unavailable = 'inactive' | 'expired' | 'exhausted' | 'customer_limit'

/**
 * One row or none. `userId` may stand for a value of a statement compiled once (the cart's
 * add): it is used only as a value. "Now" is the database's (the statement's transaction).
 */
export function appliedPromotionFacts (db: Queryable, userId: string) {
  return db.selectFrom('cartPromotions as cp')
    .innerJoin('promotions as p', 'p.id', 'cp.promotionId')
    .leftJoin('promotionCustomerUses as pu', (join) => join.onRef('pu.promotionId', '=', 'p.id').onRef('pu.userId', '=', 'cp.userId'))
    .select([
      'p.id', 'p.code', 'p.workspaceId',
      sql<'percent' | 'fixed'>`p.kind`.as('kind'),
      'p.percentBps', 'p.amountOff', 'p.currency', 'p.minSubtotal',
      sql<'platform' | 'vendor'>`p.funded_by`.as('fundedBy'),
      sql<number>`coalesce(pu.uses, 0)`.as('customerUses'),
      sql<Unavailable | null>`case
        when p.deleted_at is not null or not p.is_active or (p.starts_at is not null and p.starts_at > now()) then 'inactive'
        when p.ends_at is not null and p.ends_at <= now() then 'expired'
        when p.max_uses is not null and p.used_count >= p.max_uses then 'exhausted'
        when p.max_uses_per_customer is not null and coalesce(pu.uses, 0) >= p.max_uses_per_customer then 'customer_limit'
      end`.as('unavailable')
    ])
    .where('cp.userId', '=', userId)
}
