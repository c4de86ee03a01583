import { basisPoints, MAX_CHARGE, minimumCharge } from '../../platform/money.ts'
import { allocateDiscount } from './allocation.ts'
import { chooseShipping } from './shipping-choice.ts'
import { lineTax, taxRateFor } from './tax.ts'

// Totals (issue 14, plan §3): the one place a cart's or a checkout's money is computed, pure
// and in integer minor units. Checkout freezes what this returns on its orders; the cart shows
// it. Every rounding is half up; every split sums to what it splits.

export interface PricingLine { lineId: string, workspaceId: string, variantId: string, currency: string, unitAmount: number, quantity: number, lineAmount: number }
export interface PromotionTerms {
  id: string
  code: string
  /** null: platform-wide. */
  workspaceId: string | null
  kind: 'percent' | 'fixed'
  percentBps: number | null
  amountOff: number | null
  currency: string | null
  minSubtotal: number | null
  fundedBy: 'platform' | 'vendor'
  /** Why the cart's code cannot be used now (it expired, ran out…); absent or null: it can. */
  unavailable?: PromotionUnavailableReason | null
}
/** Why a code a cart holds can no longer be used (promotions' facts tell). */
export type PromotionUnavailableReason = 'inactive' | 'expired' | 'exhausted' | 'customer_limit'
export interface ShippingRateTerms { id: string, workspaceId: string, name: string, currency: string, kind: 'flat' | 'free_over', amount: number, freeOverAmount: number | null, countries: string[] }
export interface TaxRateTerms { id: string, country: string, region: string | null, rateBps: number, inclusive: boolean, name: string }
/** Upper-cased country and region (the address's state). */
export interface Destination { country: string, region: string | null }
export interface PricingContext {
  promotion: PromotionTerms | null
  /** Active rates of the lines' workspaces. */
  shippingRates: ShippingRateTerms[]
  /** Workspaces that defined any rate at all: the others ship free. */
  workspacesWithRates: ReadonlySet<string>
  /** Rates of the destination's country. */
  taxRates: TaxRateTerms[]
  /** Per workspace: its override, or else the platform's default. */
  commissionBps: ReadonlyMap<string, number>
}
export type PricingIssue =
  | { code: 'PROMOTION_NOT_APPLICABLE', reason: 'min_subtotal' | 'no_eligible_lines' | 'currency' }
  | { code: 'PROMOTION_UNAVAILABLE', reason: PromotionUnavailableReason }
  | { code: 'NOT_SHIPPABLE', workspaceId: string }
  | { code: 'SHIPPING_RATE_UNAVAILABLE', rateId: string }
  | { code: 'AMOUNT_TOO_LARGE' }
  | { code: 'AMOUNT_TOO_SMALL', minimum: number }
export interface PricedLine { lineId: string, lineAmount: number, discount: number, tax: number }
export interface PricedOrder {
  workspaceId: string
  currency: string
  lines: PricedLine[]
  subtotal: number
  discount: number
  platformFundedDiscount: number
  shipping: number
  shippingRate: { id: string, name: string } | null
  tax: number
  taxInclusive: boolean
  total: number
  commissionBps: number
  commission: number
  vendorShare: number
}
export interface PricedCheckout {
  currency: string
  /** In workspace-id order, as placeOrders writes them. */
  orders: PricedOrder[]
  subtotal: number
  discount: number
  shipping: number
  tax: number
  taxInclusive: boolean
  total: number
  promotion: { id: string, code: string, discount: number, fundedBy: 'platform' | 'vendor' } | null
  taxRate: { id: string, rateBps: number, inclusive: boolean } | null
  issues: PricingIssue[]
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)

/**
 * Prices lines of ONE currency. `destination` null (a cart without an address) prices no
 * shipping and no tax; the caller says so. Issues are reported, never thrown: checkout refuses
 * on any, the cart shows them, and the amounts are those without the failing part.
 */
export function computeTotals (lines: PricingLine[], ctx: PricingContext, destination: Destination | null, chosenRateIds: readonly string[] = []): PricedCheckout {
  const currency = lines[0]?.currency
  if (currency === undefined) throw new Error('computeTotals: no lines')
  if (lines.some((l) => l.currency !== currency)) throw new Error('computeTotals: lines of one currency only')
  const issues: PricingIssue[] = []

  const byWorkspace = new Map<string, PricingLine[]>()
  for (const line of lines) byWorkspace.set(line.workspaceId, [...(byWorkspace.get(line.workspaceId) ?? []), line])
  const groups = [...byWorkspace].sort(([a], [b]) => a.localeCompare(b))

  const discount = allocateDiscount(groups, ctx.promotion, currency)
  if (discount.issue) issues.push(discount.issue)
  const shipping = chooseShipping(groups.map(([workspaceId, ls], o) => ({ workspaceId, base: sum(ls.map((l) => l.lineAmount)) - sum(discount.byLine[o]!) })), ctx, currency, destination, chosenRateIds)
  issues.push(...shipping.issues)
  const taxRate = destination ? taxRateFor(ctx.taxRates, destination) : null
  const inclusive = taxRate?.inclusive ?? false
  const fundedByPlatform = ctx.promotion?.fundedBy === 'platform'

  const orders = groups.map(([workspaceId, ls], o): PricedOrder => {
    const priced = ls.map((l, i): PricedLine => {
      const lineDiscount = discount.byLine[o]![i]!
      return { lineId: l.lineId, lineAmount: l.lineAmount, discount: lineDiscount, tax: taxRate ? lineTax(l.lineAmount - lineDiscount, taxRate) : 0 }
    })
    const subtotal = sum(priced.map((l) => l.lineAmount))
    const orderDiscount = sum(priced.map((l) => l.discount))
    const tax = sum(priced.map((l) => l.tax))
    const platformFundedDiscount = fundedByPlatform ? orderDiscount : 0
    const total = subtotal - orderDiscount + shipping.byOrder[o]!.amount + (inclusive ? 0 : tax)
    const commissionBps = ctx.commissionBps.get(workspaceId)
    if (commissionBps === undefined) throw new Error(`computeTotals: no commission rate for workspace ${workspaceId}`)
    // Commission is on what the vendor sells: the goods and the shipping it charges (vendors set
    // their own rates, so shipping left out would let a store move its price into shipping),
    // never the tax. The goods count after what the vendor funds and as if undiscounted by what
    // the platform funds: so an inclusive tax comes off per line at the vendor-side price, not at
    // the discounted one, or a platform promotion would raise the vendor's commission.
    const commissionBase = shipping.byOrder[o]!.amount + sum(ls.map((l, i) => {
      const vendorNet = l.lineAmount - (fundedByPlatform ? 0 : priced[i]!.discount)
      return inclusive && taxRate ? vendorNet - lineTax(vendorNet, taxRate) : vendorNet
    }))
    const commission = basisPoints(commissionBase, commissionBps)
    return {
      workspaceId,
      currency,
      lines: priced,
      subtotal,
      discount: orderDiscount,
      platformFundedDiscount,
      shipping: shipping.byOrder[o]!.amount,
      shippingRate: shipping.byOrder[o]!.rate,
      tax,
      taxInclusive: inclusive,
      total,
      commissionBps,
      commission,
      vendorShare: total - commission + platformFundedDiscount
    }
  })

  const subtotal = sum(orders.map((o) => o.subtotal))
  const total = sum(orders.map((o) => o.total))
  // More than one payment can charge: the cart shows it, checkout refuses it. The goods count
  // too, whatever a discount takes off: bounded by MAX_CHARGE, no int4 amount column overflows.
  if (total > MAX_CHARGE || subtotal > MAX_CHARGE) issues.push({ code: 'AMOUNT_TOO_LARGE' })
  // Less than the provider's least charge (a cheap cart, or one a code takes nearly all off)
  // cannot be paid: refused before the stock is taken, not after the checkout committed.
  // Nothing at all is NOTHING_TO_PAY, checkout's own refusal.
  const minimum = minimumCharge(currency)
  if (total > 0 && total < minimum) issues.push({ code: 'AMOUNT_TOO_SMALL', minimum })
  const promotion = ctx.promotion && !discount.issue
    ? { id: ctx.promotion.id, code: ctx.promotion.code, discount: discount.total, fundedBy: ctx.promotion.fundedBy }
    : null
  return {
    currency,
    orders,
    subtotal,
    discount: sum(orders.map((o) => o.discount)),
    shipping: sum(orders.map((o) => o.shipping)),
    tax: sum(orders.map((o) => o.tax)),
    taxInclusive: inclusive,
    total,
    promotion,
    taxRate: taxRate ? { id: taxRate.id, rateBps: taxRate.rateBps, inclusive: taxRate.inclusive } : null,
    issues
  }
}
