import type { Destination, PricingContext, PricingIssue, ShippingRateTerms } from './totals.ts'

// Shipping (plan §3.2): one line per order. A workspace with no rates ships free; one with
// rates ships by the customer's chosen rate, else the cheapest eligible one (ties: lowest id).

export interface ShippingChoice {
  byOrder: Array<{ amount: number, rate: { id: string, name: string } | null }>
  issues: PricingIssue[]
}

function eligible (rate: ShippingRateTerms, currency: string, destination: Destination): boolean {
  return rate.currency === currency && (rate.countries.length === 0 || rate.countries.includes(destination.country))
}

/** `base`: the order's subtotal after its discount, which a free-over threshold is measured on (inclusive). */
function costOf (rate: ShippingRateTerms, base: number): number {
  return rate.kind === 'free_over' && rate.freeOverAmount !== null && base >= rate.freeOverAmount ? 0 : rate.amount
}

export function chooseShipping (orders: Array<{ workspaceId: string, base: number }>, ctx: PricingContext, currency: string, destination: Destination | null, chosenRateIds: readonly string[]): ShippingChoice {
  const free = { amount: 0, rate: null }
  if (!destination) return { byOrder: orders.map(() => free), issues: [] }
  const issues: PricingIssue[] = []
  const chosen = new Map<string, ShippingRateTerms>()
  for (const id of chosenRateIds) {
    const rate = ctx.shippingRates.find((r) => r.id === id)
    // A rate is chosen for one store's order: one of another store (or a second of the same) does not apply.
    if (!rate || !eligible(rate, currency, destination) || !orders.some((o) => o.workspaceId === rate.workspaceId) || chosen.has(rate.workspaceId)) issues.push({ code: 'SHIPPING_RATE_UNAVAILABLE', rateId: id })
    else chosen.set(rate.workspaceId, rate)
  }
  const byOrder = orders.map(({ workspaceId, base }) => {
    if (!ctx.workspacesWithRates.has(workspaceId)) return free
    const pick = chosen.get(workspaceId) ?? ctx.shippingRates
      .filter((r) => r.workspaceId === workspaceId && eligible(r, currency, destination))
      .map((rate) => ({ rate, cost: costOf(rate, base) }))
      .sort((a, b) => a.cost - b.cost || (a.rate.id < b.rate.id ? -1 : a.rate.id > b.rate.id ? 1 : 0))[0]?.rate
    if (!pick) {
      issues.push({ code: 'NOT_SHIPPABLE', workspaceId })
      return free
    }
    return { amount: costOf(pick, base), rate: { id: pick.id, name: pick.name } }
  })
  return { byOrder, issues }
}

export interface ShippingOptions {
  workspaceId: string
  /** Every rate the order could ship by, cheapest first (ties: lowest id); `cheapest` marks the one charged when none is chosen. */
  options: Array<{ rateId: string, name: string, amount: number, cheapest: boolean }>
  /** false: the store has rates, none for this destination and currency (checkout: NOT_SHIPPABLE). */
  shippable: boolean
}

/** What each order could ship by (GET /cart/shipping-options), priced as chooseShipping prices them. */
export function shippingOptions (orders: Array<{ workspaceId: string, base: number }>, ctx: PricingContext, currency: string, destination: Destination): ShippingOptions[] {
  return orders.map(({ workspaceId, base }) => {
    if (!ctx.workspacesWithRates.has(workspaceId)) return { workspaceId, options: [], shippable: true }
    const options = ctx.shippingRates
      .filter((r) => r.workspaceId === workspaceId && eligible(r, currency, destination))
      .map((rate) => ({ rateId: rate.id, name: rate.name, amount: costOf(rate, base) }))
      .sort((a, b) => a.amount - b.amount || (a.rateId < b.rateId ? -1 : a.rateId > b.rateId ? 1 : 0))
      .map((o, i) => ({ ...o, cheapest: i === 0 }))
    return { workspaceId, options, shippable: options.length > 0 }
  })
}
