import { Type, type Static } from '@sinclair/typebox'
import { CountryCode } from '../../platform/country-code.ts'
import { MAX_CHARGE, MoneyRef } from '../../platform/money.ts'
import { Nullable, SingleLineText, Strict, Timestamp, Uuid } from '../../platform/schema-types.ts'

/** The most live rates one workspace keeps: every checkout of its goods reads them all. */
export const MAX_RATES_PER_WORKSPACE = 50
/** Countries one rate may list (about every assigned code). */
export const MAX_COUNTRIES = 250

const Currency = Type.String({ pattern: '^[A-Za-z]{3}$', description: 'ISO 4217 (stored lower case)' })
const AmountIn = Strict({ amount: Type.Integer({ minimum: 0, maximum: MAX_CHARGE, description: 'minor units' }), currency: Currency })
const Kind = Type.Union([Type.Literal('flat'), Type.Literal('free_over')], { description: 'flat: always amount; free_over: free when the order (after its discount) reaches freeOver, else amount' })

const rateFields = {
  name: SingleLineText({ minLength: 1, maxLength: 100, description: 'shown to customers and kept on the order' }),
  kind: Kind,
  amount: AmountIn,
  freeOver: Type.Optional(Nullable(Strict({ amount: Type.Integer({ minimum: 0, maximum: MAX_CHARGE, description: 'minor units' }), currency: Currency }, { description: 'kind free_over only (required there): the threshold, in the currency of amount' }))),
  countries: Type.Optional(Type.Array(CountryCode(), { maxItems: MAX_COUNTRIES, uniqueItems: true, description: 'ISO 3166-1 alpha-2 codes the rate ships to; empty (the default): everywhere' })),
  isActive: Type.Optional(Type.Boolean({ description: 'an inactive rate is never offered (default true)' }))
}

export const CreateShippingRateBody = Strict(rateFields, {
  examples: [
    { name: 'Standard', kind: 'flat', amount: { amount: 500, currency: 'usd' }, countries: ['US'] },
    { name: 'Free over $50', kind: 'free_over', amount: { amount: 700, currency: 'usd' }, freeOver: { amount: 5000, currency: 'usd' } }
  ]
})
export type CreateShippingRateBody = Static<typeof CreateShippingRateBody>

export const UpdateShippingRateBody = Strict(Type.Partial(Type.Object(rateFields)).properties, {
  minProperties: 1,
  examples: [{ isActive: false }, { kind: 'flat', freeOver: null, amount: { amount: 600, currency: 'usd' } }]
})
export type UpdateShippingRateBody = Static<typeof UpdateShippingRateBody>

export const ShippingRateView = Type.Object({
  id: Uuid(),
  workspaceId: Uuid(),
  name: Type.String(),
  kind: Kind,
  amount: MoneyRef,
  freeOver: Nullable(MoneyRef),
  countries: Type.Array(Type.String(), { description: 'upper case; empty: everywhere' }),
  isActive: Type.Boolean(),
  createdAt: Timestamp(),
  updatedAt: Timestamp()
})
export type ShippingRateView = Static<typeof ShippingRateView>

const rateExample = {
  id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e90',
  workspaceId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80',
  name: 'Standard',
  kind: 'flat',
  amount: { amount: 500, currency: 'usd' },
  freeOver: null,
  countries: ['US'],
  isActive: true,
  createdAt: '2026-12-03T10:00:00.000Z',
  updatedAt: '2026-12-03T10:00:00.000Z'
}
export const ShippingRateRef = Type.Object(ShippingRateView.properties, { examples: [rateExample] })
export const ShippingRateList = Type.Object({ items: Type.Array(ShippingRateView) }, { examples: [{ items: [rateExample] }] })

export const WorkspaceParams = Type.Object({ wid: Uuid() })
export const RateParams = Type.Object({ wid: Uuid(), id: Uuid() })
