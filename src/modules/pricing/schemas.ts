import { Type, type Static } from '@sinclair/typebox'
import { MoneyRef } from '../../platform/money.ts'

// How totals are shown (issue 14): on a checkout, on each order, and per currency in the cart.

const usd = (amount: number) => ({ amount, currency: 'usd' })

export const TotalsView = Type.Object({
  subtotal: MoneyRef,
  discount: MoneyRef,
  shipping: MoneyRef,
  tax: MoneyRef,
  taxInclusive: Type.Boolean({ description: 'true: the tax is inside the prices (total = subtotal − discount + shipping); false: added on top' }),
  total: MoneyRef
}, {
  $id: 'TotalsView',
  description: 'total = subtotal − discount + shipping + tax (tax only when not inclusive), in minor units',
  examples: [{ subtotal: usd(5500), discount: usd(550), shipping: usd(500), tax: usd(359), taxInclusive: false, total: usd(5809) }]
})
export type TotalsView = Static<typeof TotalsView>
export const TotalsRef = Type.Ref(TotalsView)
