import type { Deps } from '../../platform/deps.ts'
import { Conflict, NotFound } from '../../platform/errors.ts'
import { codeKey } from './codes.ts'

// Applying a code to the cart (plan §4 WP2). A cart holds one code; applying another replaces
// it. The cart's answer is built by the cart module (given to this plugin by app.ts, so the
// two modules do not import each other), inside the transaction that stores the code: a code
// that applies to no currency of the cart is refused with the reason pricing gives, and the
// cart keeps what it held. Unknown, inactive and out-of-window codes are one answer (404), so
// guessing learns nothing more than "no".

/** What the apply needs to know of the cart's answer: its summaries' promotion. */
export interface PricedCart {
  summaries: Array<{ promotion: { applicable: boolean, reason?: string } | null }>
}
/** The cart's answer, read with `deps` (a transaction's when the code is being applied). */
export type CartReader<V extends PricedCart> = (deps: Deps, userId: string) => Promise<V>

export async function applyCode<V extends PricedCart> (deps: Deps, userId: string, code: string, readCart: CartReader<V>): Promise<V> {
  const now = deps.clock.now()
  return deps.db.transaction().execute(async (trx) => {
    const found = await trx.selectFrom('promotions as p')
      .leftJoin('promotionCustomerUses as pu', (join) => join.onRef('pu.promotionId', '=', 'p.id').on('pu.userId', '=', userId))
      .select(['p.id', 'p.maxUses', 'p.usedCount', 'p.maxUsesPerCustomer', 'pu.uses'])
      .where('p.codeKey', '=', codeKey(code)).where('p.deletedAt', 'is', null).where('p.isActive', '=', true)
      .where((eb) => eb.or([eb('p.startsAt', 'is', null), eb('p.startsAt', '<=', now)]))
      .where((eb) => eb.or([eb('p.endsAt', 'is', null), eb('p.endsAt', '>', now)]))
      .executeTakeFirst()
    if (!found) throw NotFound('PROMOTION_NOT_FOUND', 'No usable promotion code by this name.', { field: '/body/code', fieldDetail: 'is not a usable code' })
    if (found.maxUses !== null && found.usedCount >= found.maxUses) throw notApplicable('exhausted')
    if (found.maxUsesPerCustomer !== null && (found.uses ?? 0) >= found.maxUsesPerCustomer) throw notApplicable('customer_limit')
    await trx.insertInto('cartPromotions').values({ userId, promotionId: found.id, appliedAt: now })
      .onConflict((oc) => oc.column('userId').doUpdateSet({ promotionId: found.id, appliedAt: now }))
      .execute()
    const cart = await readCart({ ...deps, db: trx }, userId)
    // An empty cart takes any usable code; otherwise it must apply to one of its currencies.
    const priced = cart.summaries.map((s) => s.promotion).filter((p) => p !== null)
    if (priced.length > 0 && !priced.some((p) => p.applicable)) throw notApplicable(priced[0]!.reason ?? 'no_eligible_lines')
    return cart
  })
}

export async function removeCode<V> (deps: Deps, userId: string, readCart: (deps: Deps, userId: string) => Promise<V>): Promise<V> {
  await deps.db.deleteFrom('cartPromotions').where('userId', '=', userId).execute()
  return readCart(deps, userId)
}

function notApplicable (reason: string): Error {
  return Conflict('PROMOTION_NOT_APPLICABLE', `The code does not apply to this cart (${reason.replace('_', ' ')}).`, { field: '/body/code', fieldDetail: 'does not apply to this cart', extra: { reason } })
}
