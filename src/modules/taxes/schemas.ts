import { Type, type Static } from '@sinclair/typebox'
import { CountryCode } from '../../platform/country-code.ts'
import { PageQuery } from '../../platform/pagination.ts'
import { Nullable, SingleLineText, Strict, Timestamp, Uuid } from '../../platform/schema-types.ts'

const Region = Type.String({ pattern: '^[A-Za-z0-9-]{1,10}$', description: 'the address state it applies to (e.g. CA), matched upper case; null or left out: the whole country' })

const taxFields = {
  country: CountryCode({ description: 'ISO 3166-1 alpha-2 (stored upper case)' }),
  region: Type.Optional(Nullable(Region)),
  name: SingleLineText({ minLength: 1, maxLength: 100 }),
  rateBps: Type.Integer({ minimum: 0, maximum: 10_000, description: 'basis points: 725 = 7.25 %' }),
  inclusive: Type.Optional(Type.Boolean({ description: 'true: prices already include the tax (it is shown, not added); default false' }))
}

export const CreateTaxRateBody = Strict(taxFields, {
  examples: [
    { country: 'US', region: 'CA', name: 'California sales tax', rateBps: 725 },
    { country: 'GB', name: 'VAT', rateBps: 2000, inclusive: true }
  ]
})
export type CreateTaxRateBody = Static<typeof CreateTaxRateBody>

export const UpdateTaxRateBody = Strict(Type.Partial(Type.Object(taxFields)).properties, { minProperties: 1, examples: [{ rateBps: 750 }] })
export type UpdateTaxRateBody = Static<typeof UpdateTaxRateBody>

export const TaxRateView = Type.Object({
  id: Uuid(),
  country: Type.String(),
  region: Nullable(Type.String()),
  name: Type.String(),
  rateBps: Type.Integer(),
  inclusive: Type.Boolean(),
  createdAt: Timestamp(),
  updatedAt: Timestamp()
})
export type TaxRateView = Static<typeof TaxRateView>

const example = { id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e91', country: 'US', region: 'CA', name: 'California sales tax', rateBps: 725, inclusive: false, createdAt: '2026-12-03T10:00:00.000Z', updatedAt: '2026-12-03T10:00:00.000Z' }
export const TaxRateRef = Type.Object(TaxRateView.properties, { examples: [example] })
export const TaxRatePage = Type.Object({ items: Type.Array(TaxRateView), nextCursor: Nullable(Type.String()) }, { examples: [{ items: [example], nextCursor: null }] })

export const TaxRateQuery = Strict({ ...PageQuery, country: Type.Optional(CountryCode({ description: 'only this country\'s rates' })) })
export type TaxRateQuery = Static<typeof TaxRateQuery>
export const TaxRateParams = Type.Object({ id: Uuid() })
