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
