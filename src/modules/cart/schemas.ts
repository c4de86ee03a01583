import { Type, type Static } from '@sinclair/typebox'
import { MoneyRef } from '../../platform/money.ts'
import { Nullable, Strict, Text, Uuid } from '../../platform/schema-types.ts'

/** The most one cart line holds, whether set at once or reached by adding to it. */
export const MAX_LINE_QUANTITY = 999
const Quantity = Type.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY })

export const CartLine = Type.Object({
  id: Uuid(),
  variantId: Uuid(),
  productId: Uuid(),
  workspaceId: Uuid(),
  title: Type.String(),
  size: Nullable(Type.String()),
  sku: Type.String(),
  quantity: Type.Integer(),
  stock: Type.Integer(),
  available: Type.Boolean({ description: 'false when the product left the catalog or there is not enough stock' }),
  unitPrice: MoneyRef,
  lineTotal: MoneyRef
})
/** A line as checkout reads it: `sold` (on sale now, the catalog's rule) stays in the process. */
export type CartLine = Static<typeof CartLine> & { sold: boolean }

const PricingIssueCode = Type.Union([Type.Literal('PROMOTION_NOT_APPLICABLE'), Type.Literal('NOT_SHIPPABLE'), Type.Literal('SHIPPING_RATE_UNAVAILABLE'), Type.Literal('AMOUNT_TOO_LARGE'), Type.Literal('AMOUNT_TOO_SMALL')])
const NotApplicableReason = Type.Union([Type.Literal('min_subtotal'), Type.Literal('no_eligible_lines'), Type.Literal('currency')])

/** What checking out one currency of the cart would cost now, for a destination. */
export const CartSummary = Type.Object({
  currency: Type.String({ pattern: '^[a-z]{3}$' }),
  subtotal: MoneyRef,
  discount: MoneyRef,
  shipping: Type.Union([MoneyRef, Type.Null()], { description: 'null while the destination is unknown' }),
  tax: Type.Union([MoneyRef, Type.Null()], { description: 'null while the destination is unknown' }),
  taxInclusive: Type.Boolean(),
  total: MoneyRef,
  destination: Type.Union([Type.Object({ country: Type.String(), region: Nullable(Type.String()) }), Type.Null()], { description: 'what shipping and tax are priced for; null: no address known, and the total leaves them out' }),
  promotion: Nullable(Type.Object({
    code: Type.String(),
    discount: MoneyRef,
    fundedBy: Type.Union([Type.Literal('platform'), Type.Literal('vendor')]),
    applicable: Type.Boolean(),
    reason: Type.Optional(NotApplicableReason)
  })),
  issues: Type.Array(Type.Object({
    code: PricingIssueCode,
    reason: Type.Optional(NotApplicableReason),
    workspaceId: Type.Optional(Uuid()),
    rateId: Type.Optional(Uuid()),
    minimum: Type.Optional(Type.Integer({ minimum: 0, description: "AMOUNT_TOO_SMALL: the least charge, in this currency's minor units" }))
  }), { description: 'what checkout would refuse (409 with the same code); the amounts are those without it (AMOUNT_TOO_LARGE, AMOUNT_TOO_SMALL: the amounts as they are)' })
})
export type CartSummary = Static<typeof CartSummary>

export const CartView = Type.Object({
  items: Type.Array(CartLine),
  totals: Type.Array(MoneyRef, { description: 'one total per currency, at current prices, of the lines still on sale' }),
  summaries: Type.Array(CartSummary, { description: 'one per currency, in the order of totals: subtotal, discount, shipping, tax and total' }),
  itemCount: Type.Integer()
}, {
  $id: 'CartView',
  examples: [{
    items: [{
      id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e90',
      variantId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e83',
      productId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f',
      workspaceId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80',
      title: 'Linen shirt',
      size: 'M',
      sku: 'LIN-M',
      quantity: 2,
      stock: 20,
      available: true,
      unitPrice: { amount: 4410, currency: 'usd' },
      lineTotal: { amount: 8820, currency: 'usd' }
    }],
    totals: [{ amount: 8820, currency: 'usd' }],
    summaries: [{
      currency: 'usd',
      subtotal: { amount: 8820, currency: 'usd' },
      discount: { amount: 0, currency: 'usd' },
      shipping: { amount: 500, currency: 'usd' },
      tax: { amount: 639, currency: 'usd' },
      taxInclusive: false,
      total: { amount: 9959, currency: 'usd' },
      destination: { country: 'US', region: 'CA' },
      promotion: null,
      issues: []
    }],
    itemCount: 2
  }]
})
export type CartView = Static<typeof CartView>
export const CartRef = Type.Ref(CartView)

export const AddItemBody = Strict({ variantId: Uuid(), quantity: Quantity }, { examples: [{ variantId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f', quantity: 2 }] })
export const QuantityBody = Strict({ quantity: Quantity }, { examples: [{ quantity: 3 }] })
export const ItemParams = Type.Object({ id: Uuid() })
export const CartQuery = Strict({
  shippingAddressId: Type.Optional(Uuid({ description: 'price shipping and tax for this saved address' })),
  country: Type.Optional(Type.String({ pattern: '^[A-Za-z]{2}$', description: 'or for this country (ISO 3166-1 alpha-2)' })),
  region: Type.Optional(Text({ minLength: 1, maxLength: 120, description: 'and region (state), with country' }))
}, { description: 'Without any: the default address, if there is one.' })
export type CartQuery = Static<typeof CartQuery>
