import { Type, type Static } from '@sinclair/typebox'

// Money is an integer of minor units and an ISO 4217 currency, never a float (SPEC 4).
export const Money = Type.Object({
  amount: Type.Integer({ minimum: 0, maximum: 100_000_000_000, description: 'minor units (cents)' }),
  currency: Type.String({ pattern: '^[a-z]{3}$', description: 'ISO 4217, lower case' })
}, { $id: 'Money', examples: [{ amount: 1999, currency: 'usd' }] })
export type Money = Static<typeof Money>
/** Typed reference to the shared Money schema (registered once, by $id). */
export const MoneyRef = Type.Ref(Money)

/** The most one payment can charge, in minor units: Stripe's limit (eight digits) for most currencies. */
export const MAX_CHARGE = 99_999_999

/**
 * The least one payment can charge, in minor units, per currency: Stripe's published minimums
 * (about half a US dollar). A currency not listed has no minimum here: the provider decides.
 */
const MIN_CHARGE: Readonly<Record<string, number>> = {
  usd: 50, aed: 200, aud: 50, bgn: 100, brl: 50, cad: 50, chf: 50, czk: 1500, dkk: 250, eur: 50, gbp: 30, hkd: 400, huf: 17500, inr: 50, jpy: 50, mxn: 1000, myr: 200, nok: 300, nzd: 50, pln: 200, ron: 200, sek: 300, sgd: 50, thb: 1000
}
export function minimumCharge (currency: string): number {
  return MIN_CHARGE[currency] ?? 0
}

/** A percentage off an amount, rounded half up, in integer arithmetic. */
export function discounted (amount: number, percentage: number): number {
  return Math.floor((amount * (100 - percentage) + 50) / 100)
}

export const money = (amount: number, currency: string): Money => ({ amount, currency })

/** Money that may be negative: ledger rows and balances, seen from their owner's side. */
export const SignedMoney = Type.Object({
  amount: Type.Integer({ minimum: -100_000_000_000, maximum: 100_000_000_000, description: 'minor units (cents); negative takes money away' }),
  currency: Type.String({ pattern: '^[a-z]{3}$', description: 'ISO 4217, lower case' })
}, { $id: 'SignedMoney', examples: [{ amount: -550, currency: 'usd' }] })
export type SignedMoney = Static<typeof SignedMoney>

/**
 * round(num / den), half up, for num >= 0 and den > 0. In BigInt: amounts times rates reach
 * 1e15 and a split's products more, where a float quotient can land on the wrong integer.
 */
export function divRoundHalfUp (num: number, den: number): number {
  if (!Number.isSafeInteger(num) || !Number.isSafeInteger(den) || num < 0 || den <= 0) throw new RangeError(`divRoundHalfUp(${num}, ${den}): integers, num >= 0, den > 0`)
  return Number((2n * BigInt(num) + BigInt(den)) / (2n * BigInt(den)))
}

/**
 * round(amount × factor / den), half up, for amount, factor >= 0 and den > 0. The product is
 * formed in BigInt: a huge cart's amount times a rate passes 2^53, and the result (at most the
 * amount when factor <= den) is what must fit.
 */
export function mulDivRoundHalfUp (amount: number, factor: number, den: number): number {
  if (![amount, factor, den].every(Number.isSafeInteger) || amount < 0 || factor < 0 || den <= 0) throw new RangeError(`mulDivRoundHalfUp(${amount}, ${factor}, ${den}): integers, amount and factor >= 0, den > 0`)
  return Number((2n * BigInt(amount) * BigInt(factor) + BigInt(den)) / (2n * BigInt(den)))
}

/** amount × bps / 10 000, rounded half up (a half unit goes up: to the platform, for commission). */
export function basisPoints (amount: number, bps: number): number {
  return mulDivRoundHalfUp(amount, bps, 10_000)
}

/**
 * Splits `total` over `weights` in proportion, by largest remainder: each part is its exact
 * share rounded down, and the units left go to the largest remainders, a tie to the lower
 * index. The parts always sum to `total`; a zero weight gets nothing.
 */
export function allocate (total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0)
  if (total === 0) return weights.map(() => 0)
  if (sum <= 0) throw new RangeError(`allocate(${total}): no weight to split over`)
  const big = { total: BigInt(total), sum: BigInt(sum) }
  const parts = weights.map((w, index) => {
    const share = big.total * BigInt(w)
    return { index, part: Number(share / big.sum), remainder: share % big.sum }
  })
  let left = total - parts.reduce((n, p) => n + p.part, 0)
  const order = [...parts].sort((a, b) => a.remainder === b.remainder ? a.index - b.index : (a.remainder > b.remainder ? -1 : 1))
  for (const p of order) {
    if (left === 0) break
    p.part++
    left--
  }
  return parts.map((p) => p.part)
}

// Minor-unit digits per currency: Intl.NumberFormat is costly to build, and every order email formats totals.
const currencyDigits = new Map<string, number>()

function digitsOf (currency: string): number {
  let digits = currencyDigits.get(currency)
  if (digits === undefined) {
    digits = 2
    try {
      digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2
    } catch {}
    // Bounded: currency codes come from our own rows, but a cache must not grow without limit.
    if (currencyDigits.size < 1000) currencyDigits.set(currency, digits)
  }
  return digits
}

/** "49.00 USD"-style text for emails: the currency's own number of minor digits. */
export function formatMoney (m: Money): string {
  const currency = m.currency.toUpperCase()
  const digits = digitsOf(currency)
  return `${(m.amount / 10 ** digits).toFixed(digits)} ${currency}`
}
