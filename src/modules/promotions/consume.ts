import { sql } from 'kysely'
import type { Trx } from '../../platform/db.ts'
import type { Deps } from '../../platform/deps.ts'
import { Conflict } from '../../platform/errors.ts'
import type { Unavailable } from './facts.ts'

// Taking one use of a code at checkout (plan §4 WP2): ONE statement in the checkout's
// transaction, after the orders are written (locks: variants first, then the promotion row).
// Every guard is evaluated on the locked, latest version of the row (an UPDATE re-checks its
// WHERE after waiting), so fifty checkouts racing for the last use take it once; and the
// database's own check (used_count <= max_uses) refuses overuse whatever the code does. A
// refusal throws, and the whole checkout (orders, stock, cart) rolls back. Uses are never
// given back (cancel, expiry, refund): the counter only grows.

export interface PromotionUse { promotionId: string, userId: string, checkoutId: string, currency: string, discount: number }

export async function consumePromotion (trx: Trx, deps: Deps, use: PromotionUse): Promise<void> {
  const now = deps.clock.now()
  const { rows } = await sql<{ taken: number, redeemed: number, removed: number }>`
    with p as (
      update promotions set used_count = used_count + 1, updated_at = ${now}
      where id = ${use.promotionId} and deleted_at is null and is_active
        and (starts_at is null or starts_at <= ${now}) and (ends_at is null or ends_at > ${now})
        and (max_uses is null or used_count < max_uses)
      returning id, max_uses_per_customer
    ), u as (
      insert into promotion_customer_uses (promotion_id, user_id, uses)
      select p.id, ${use.userId}, 1 from p
      on conflict (promotion_id, user_id) do update set uses = promotion_customer_uses.uses + 1
        where (select max_uses_per_customer from p) is null or promotion_customer_uses.uses < (select max_uses_per_customer from p)
      returning uses
    ), r as (
      insert into promotion_redemptions (id, promotion_id, user_id, checkout_id, currency, discount_amount, created_at)
      select ${deps.random.uuid()}, ${use.promotionId}, ${use.userId}, ${use.checkoutId}, ${use.currency}, ${use.discount}, ${now} from u
      returning id
    ), c as (
      delete from cart_promotions where user_id = ${use.userId} and promotion_id = ${use.promotionId} and exists (select 1 from r) returning user_id
    )
    select (select count(*) from p)::int as taken, (select count(*) from r)::int as redeemed, (select count(*) from c)::int as removed`.execute(trx)
  const result = rows[0]!
  if (result.taken === 0) throw unavailable(await whyUnavailable(trx, use.promotionId, now))
  if (result.redeemed === 0) throw unavailable('customer_limit')
  // The cart no longer holds this code: another checkout of the cart (a partial one, at the same
  // time) used it, or the customer replaced or removed it meanwhile. One code discounts one
  // checkout, so this one is refused (and rolled back) rather than discounted a second time.
  if (result.removed === 0) throw unavailable('removed')
}

/**
 * Why the guarded update took no use, read in a statement of its own: a fresh snapshot in READ
 * COMMITTED, so a code deleted or ended by a transaction that committed while this checkout
 * waited for its row is seen as such (the update's own statement saw the row as it began).
 */
async function whyUnavailable (trx: Trx, promotionId: string, now: Date): Promise<Unavailable> {
  const row = await trx.selectFrom('promotions').select(sql<Unavailable>`case
      when deleted_at is not null or not is_active or (starts_at is not null and starts_at > ${now}) then 'inactive'
      when ends_at is not null and ends_at <= ${now} then 'expired'
      else 'exhausted' end`.as('reason')).where('id', '=', promotionId).executeTakeFirst()
  return row?.reason ?? 'inactive'
}

export function unavailable (reason: Unavailable | 'removed'): Error {
  const why = {
    removed: 'was used by another checkout of this cart, or replaced, meanwhile (one code discounts one checkout)',
    inactive: 'is no longer active',
    expired: 'has expired',
    exhausted: 'has been used as many times as it may be',
    customer_limit: 'has been used by you as many times as it may be'
  }[reason]
  return Conflict('PROMOTION_UNAVAILABLE', reason === 'removed' ? `The promotion code this checkout was priced with ${why}: check out again.` : `The promotion code in the cart ${why}: remove it (DELETE /cart/promotion) to check out without it.`, { extra: { reason } })
}
