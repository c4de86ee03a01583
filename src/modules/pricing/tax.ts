import { basisPoints, mulDivRoundHalfUp } from '../../platform/money.ts'
import type { Destination, TaxRateTerms } from './totals.ts'

// Tax (plan §3.3): one rate for the destination, applied per line to what the line costs after
// its discount. Rounded per line, so an order's tax may differ by a unit from rounding its sum.

/** The destination's rate: its region's first, then its country's (no region), else none. */
export function taxRateFor (rates: readonly TaxRateTerms[], destination: Destination): TaxRateTerms | null {
  const ofCountry = rates.filter((r) => r.country === destination.country)
  return (destination.region !== null ? ofCountry.find((r) => r.region === destination.region) : undefined) ??
    ofCountry.find((r) => r.region === null) ?? null
}

/** Exclusive: added on top of net. Inclusive: the part of net that is tax (net already holds it). */
export function lineTax (net: number, rate: Pick<TaxRateTerms, 'rateBps' | 'inclusive'>): number {
  return rate.inclusive ? mulDivRoundHalfUp(net, rate.rateBps, 10_000 + rate.rateBps) : basisPoints(net, rate.rateBps)
}
