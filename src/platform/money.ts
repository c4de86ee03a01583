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

/** A percentage off an amount, rounded half up, in integer arithmetic. */
export function discounted (amount: number, percentage: number): number {
  return Math.floor((amount * (100 - percentage) + 50) / 100)
}

export const money = (amount: number, currency: string): Money => ({ amount, currency })

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
