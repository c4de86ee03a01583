import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import { BadRequest, NotFound } from '../../platform/errors.ts'
import { money } from '../../platform/money.ts'
import {
  computeTotals, destinationFrom, pricingContextColumns, toPricingContext, type DestinationFacts, type PricingContextRow, type PricedCheckout, type PricingContext, type PricingLine, type Destination
} from '../pricing/public.ts'
import type { CartLine, CartQuery, CartSummary } from './schemas.ts'

// The cart's summaries (issue 14): per currency, what checking it out would cost now, priced
// by the same computeTotals as checkout, for the destination asked for (else the default
// address). What checkout would refuse is shown as an issue, not thrown. What pricing needs
// (with the saved address) comes as columns of the statement that reads the lines.

/** The destination the query asks for; 400 naming the field when it asks for two, or a region alone. */
export function destinationAsked (query: CartQuery = {}): DestinationFacts {
  if (query.country !== undefined && query.shippingAddressId !== undefined) {
    throw BadRequest('VALIDATION_FAILED', 'querystring/country cannot be given with querystring/shippingAddressId', { field: '/querystring/country', fieldDetail: 'must not come with shippingAddressId' })
  }
  if (query.region !== undefined && query.country === undefined) {
    throw BadRequest('VALIDATION_FAILED', 'querystring/region needs querystring/country', { field: '/querystring/region', fieldDetail: 'needs country' })
  }
  if (query.country !== undefined) return { country: query.country.toUpperCase(), region: query.region?.trim().toUpperCase() || null }
  return { addressId: query.shippingAddressId }
}

export function summaryOf (priced: PricedCheckout, ctx: PricingContext, destination: Destination | null): CartSummary {
  const m = (amount: number) => money(amount, priced.currency)
  const notApplicable = priced.issues.find((i) => i.code === 'PROMOTION_NOT_APPLICABLE' || i.code === 'PROMOTION_UNAVAILABLE')
  return {
    currency: priced.currency,
    subtotal: m(priced.subtotal),
    discount: m(priced.discount),
    shipping: destination ? m(priced.shipping) : null,
    tax: destination ? m(priced.tax) : null,
    taxInclusive: priced.taxInclusive,
    total: m(priced.total),
    destination,
    promotion: ctx.promotion && {
      code: ctx.promotion.code,
      discount: m(priced.promotion?.discount ?? 0),
      fundedBy: ctx.promotion.fundedBy,
      applicable: !notApplicable,
      ...(notApplicable ? { reason: notApplicable.reason } : {})
    },
    issues: priced.issues
  }
}

/** Cart lines as pricing takes them (checkout's too): the line's id names it in the priced result. */
export function pricingLinesOf (lines: CartLine[]): PricingLine[] {
  return lines.map((l) => ({
    lineId: l.id, workspaceId: l.workspaceId, variantId: l.variantId, currency: l.unitPrice.currency, unitAmount: l.unitPrice.amount, quantity: l.quantity, lineAmount: l.lineTotal.amount
  }))
}

/**
 * One summary per currency of the lines still on sale, in the order their currencies first
 * appear. `row`: pricing's context, read in the statement that read the lines; null when that
 * statement answered no row (an empty cart), then it is read here only if an address is named.
 */
export async function cartSummaries (deps: Deps, userId: string, items: CartLine[], asked: DestinationFacts, read: PricingContextRow | null): Promise<CartSummary[]> {
  const lines = items.filter((i) => i.sold)
  const named = asked !== null && 'addressId' in asked && asked.addressId !== undefined
  if (lines.length === 0 && !named) return []
  const workspaceIds = [...new Set(lines.map((l) => l.workspaceId))]
  const row = read ?? await deps.db.selectNoFrom(pricingContextColumns(deps.db, { userId, workspaceIds: sql<readonly string[]>`'{}'::uuid[]`, destination: asked })).executeTakeFirstOrThrow()
  if (named && !row.savedAddress) throw NotFound('NOT_FOUND', 'address not found', { field: '/querystring/shippingAddressId', fieldDetail: 'is not one of your addresses' })
  const ctx = toPricingContext(row, workspaceIds, deps.config)
  const destination = destinationFrom(asked, row)
  const currencies = [...new Set(lines.map((l) => l.unitPrice.currency))]
  return currencies.map((currency) => {
    const ofCurrency = pricingLinesOf(lines.filter((l) => l.unitPrice.currency === currency))
    return summaryOf(computeTotals(ofCurrency, ctx, destination), ctx, destination)
  })
}
