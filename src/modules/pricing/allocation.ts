import { allocate, basisPoints } from '../../platform/money.ts'
import type { PricingIssue, PricingLine, PromotionTerms } from './totals.ts'

// A promotion's discount (plan §3.1): what it covers, how much, and how it is split over the
// orders (by eligible subtotal, workspace-id order) and then over each order's lines (by
// eligible line amount, cart order). Ties go to the earlier order or line.

export interface DiscountSplit {
  total: number
  /** Per order (in the groups' order), per line: that line's discount. */
  byLine: number[][]
  issue: PricingIssue | null
}

export function allocateDiscount (groups: Array<[workspaceId: string, lines: PricingLine[]]>, promotion: PromotionTerms | null, currency: string): DiscountSplit {
  const none = (issue: PricingIssue | null): DiscountSplit => ({ total: 0, byLine: groups.map(([, ls]) => ls.map(() => 0)), issue })
  if (!promotion) return none(null)
  // Held by the cart but no longer usable (expired, ran out…): priced without it, and checkout refuses.
  if (promotion.unavailable) return none({ code: 'PROMOTION_UNAVAILABLE', reason: promotion.unavailable })
  const notApplicable = (reason: 'min_subtotal' | 'no_eligible_lines' | 'currency') => none({ code: 'PROMOTION_NOT_APPLICABLE', reason })
  // A fixed amount, or a minimum subtotal, is in one currency: lines of another are not covered.
  if (promotion.currency !== null && promotion.currency !== currency) return notApplicable('currency')
  const eligible = groups.map(([workspaceId, ls]) => ls.map((l) => promotion.workspaceId === null || promotion.workspaceId === workspaceId ? l.lineAmount : 0))
  const eligibleByOrder = eligible.map((amounts) => amounts.reduce((a, b) => a + b, 0))
  const base = eligibleByOrder.reduce((a, b) => a + b, 0)
  if (base === 0) return notApplicable('no_eligible_lines')
  if (promotion.minSubtotal !== null && base < promotion.minSubtotal) return notApplicable('min_subtotal')
  const total = promotion.kind === 'percent' ? basisPoints(base, promotion.percentBps ?? 0) : Math.min(promotion.amountOff ?? 0, base)
  const perOrder = allocate(total, eligibleByOrder)
  return { total, byLine: eligible.map((amounts, o) => perOrder[o] === 0 ? amounts.map(() => 0) : allocate(perOrder[o]!, amounts)), issue: null }
}
