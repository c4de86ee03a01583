import { Type, type Static } from '@sinclair/typebox'
import { MAX_CHARGE, MoneyRef } from '../../platform/money.ts'
import { Page } from '../../platform/pagination.ts'
import { Nullable, Strict, Text, Timestamp, Uuid } from '../../platform/schema-types.ts'
import { StoreCard } from '../workspaces/public.ts'
import { CategorySlug } from './moderation-schemas.ts'

export const SIZES = ['S', 'M', 'L', 'XL', 'XXL'] as const
export const Size = Type.Union(SIZES.map((s) => Type.Literal(s)))
export type Size = Static<typeof Size>
const Word = Text({ minLength: 1, maxLength: 60 })
const Currency = Type.String({ pattern: '^[A-Za-z]{3}$', description: 'ISO 4217' })
/** Amounts in Postgres `integer` columns (filters): a larger one must be a 400, not a failed query. */
export const MAX_AMOUNT = 2_147_483_647
/** A price is at most what one payment can charge, so every product can be bought. */
const PriceIn = Strict({ amount: Type.Integer({ minimum: 0, maximum: MAX_CHARGE, description: 'minor units' }), currency: Currency })

const VariantIn = Strict({
  id: Type.Optional(Uuid({ description: 'on update: an existing variant to keep' })),
  size: Type.Optional(Nullable(Size)),
  sku: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
  stock: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
  price: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: MAX_CHARGE, description: 'minor units; overrides the product price for this variant' })))
})

const Faq = Type.Array(Strict({ question: Text({ minLength: 1, maxLength: 500 }), answer: Text({ minLength: 1, maxLength: 5000 }) }), { maxItems: 50 })

const productFields = {
  title: Text({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Text({ maxLength: 20_000 })),
  price: PriceIn,
  discountPercentage: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  categories: Type.Optional(Type.Array(CategorySlug(), { maxItems: 10, uniqueItems: true, description: 'slugs of managed categories (GET /categories?all=true); an unknown one is a 400' })),
  keywords: Type.Optional(Type.Array(Word, { maxItems: 30 })),
  faq: Type.Optional(Faq),
  isActive: Type.Optional(Type.Boolean())
}

export const CreateProductBody = Strict({
  ...productFields,
  variants: Type.Array(VariantIn, { minItems: 1, maxItems: 20, description: 'one variant without size for a product without sizes; otherwise one per size' })
}, {
  examples: [{
    title: 'Linen shirt',
    description: 'Breathable linen, relaxed fit.',
    price: { amount: 4900, currency: 'usd' },
    discountPercentage: 10,
    categories: ['shirts'],
    keywords: ['linen', 'summer'],
    faq: [{ question: 'Does it shrink?', answer: 'Less than 2%.' }],
    variants: [{ size: 'M', sku: 'LIN-M', stock: 20 }, { size: 'L', sku: 'LIN-L', stock: 12 }]
  }]
})
export type CreateProductBody = Static<typeof CreateProductBody>

export const UpdateProductBody = Strict({
  ...Type.Partial(Type.Object(productFields)).properties,
  variants: Type.Optional(Type.Array(VariantIn, { minItems: 1, maxItems: 20, description: 'the full list: ids keep variants, no id adds one, a missing id retires it' }))
}, { minProperties: 1, examples: [{ discountPercentage: 20, isActive: true }] })
export type UpdateProductBody = Static<typeof UpdateProductBody>

export const VariantView = Type.Object({
  id: Uuid(),
  size: Nullable(Size),
  sku: Type.String(),
  stock: Type.Integer(),
  price: MoneyRef,
  finalPrice: MoneyRef
})
export type VariantView = Static<typeof VariantView>

export const ImageView = Type.Object({ id: Uuid(), url: Type.String(), position: Type.Integer() })
export type ImageView = Static<typeof ImageView>
const imageExample = { id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e81', url: 'http://localhost:3000/files/01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e82.webp', position: 0 }
export const ImageList = Type.Object({ images: Type.Array(ImageView) }, { examples: [{ images: [imageExample] }] })

const price = { amount: 4900, currency: 'usd' }
const finalPrice = { amount: 4410, currency: 'usd' }
const productExample = {
  id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f',
  workspaceId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80',
  title: 'Linen shirt',
  description: 'Breathable linen, relaxed fit.',
  price,
  discountPercentage: 10,
  finalPrice,
  categories: ['shirts'],
  keywords: ['linen', 'summer'],
  faq: [{ question: 'Does it shrink?', answer: 'Less than 2%.' }],
  images: [imageExample],
  isActive: true,
  unlisted: null,
  variants: [{ id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e83', size: 'M', sku: 'LIN-M', stock: 20, price, finalPrice }],
  store: { id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80', name: 'Hopper Computing', slug: 'hopper-computing', logoUrl: null },
  createdAt: '2026-11-21T10:00:00.000Z',
  updatedAt: '2026-11-21T10:00:00.000Z'
}

export const ProductView = Type.Object({
  id: Uuid(),
  workspaceId: Uuid(),
  title: Type.String(),
  description: Type.String(),
  price: MoneyRef,
  discountPercentage: Type.Integer(),
  finalPrice: MoneyRef,
  categories: Type.Array(Type.String()),
  keywords: Type.Array(Type.String()),
  faq: Type.Array(Type.Object({ question: Type.String(), answer: Type.String() })),
  images: Type.Array(ImageView),
  isActive: Type.Boolean(),
  unlisted: Nullable(Type.Object({ at: Timestamp(), reason: Type.String() }, { description: 'a platform admin took it off the catalog (and why); null otherwise' })),
  variants: Type.Array(VariantView),
  store: StoreCard,
  createdAt: Timestamp(),
  updatedAt: Timestamp()
}, { $id: 'ProductView', examples: [productExample] })
export type ProductView = Static<typeof ProductView>
export const ProductRef = Type.Ref(ProductView)
export const ProductPage = Page(ProductRef, { examples: [{ items: [productExample], nextCursor: 'WyIwMTkzNmIyZS03YzRlLTdkNGEtOWIxZS0zZjJhMWMwZDllOGYiXQ' }] })

export const CatalogQuery = Strict({
  q: Type.Optional(Text({ minLength: 1, maxLength: 200, description: 'full-text search over title, keywords and description' })),
  category: Type.Optional(Text({ maxLength: 60 })),
  workspaceId: Type.Optional(Uuid()),
  size: Type.Optional(Size),
  minPrice: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_AMOUNT, description: 'minor units, on the price after discount' })),
  maxPrice: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_AMOUNT, description: 'minor units, on the price after discount' })),
  sort: Type.Optional(Type.Union(['relevance', 'newest', 'price_asc', 'price_desc'].map((s) => Type.Literal(s)), { default: 'relevance', description: 'relevance needs q; without it, newest' })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Text({ maxLength: 512 }))
})
export type CatalogQuery = Static<typeof CatalogQuery>

export const ManageListQuery = Strict({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Text({ maxLength: 512 }))
})
export type ManageListQuery = Static<typeof ManageListQuery>

export const ProductParams = Type.Object({ id: Uuid() })
export const WorkspaceProductParams = Type.Object({ wid: Uuid(), id: Uuid() })
export const WorkspaceParams = Type.Object({ wid: Uuid() })
export const ImageParams = Type.Object({ wid: Uuid(), id: Uuid(), imageId: Uuid() })
export const ImageOrderBody = Strict({ order: Type.Array(Uuid(), { minItems: 1, maxItems: 50, uniqueItems: true, description: 'every image id of the product, in the new order' }) }, {
  examples: [{ order: ['01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e82', '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e81'] }]
})

export const Category = Type.Object({
  slug: Type.String({ description: 'what ?category= filters on' }),
  name: Type.String(),
  parent: Nullable(Type.String({ description: 'the parent\'s slug' })),
  count: Type.Integer({ description: 'products of the catalog that carry it' })
})
export type Category = Static<typeof Category>
export const Categories = Type.Object({ items: Type.Array(Category) }, { examples: [{ items: [{ slug: 'shirts', name: 'Shirts', parent: null, count: 120 }, { slug: 'linen-shirts', name: 'Linen shirts', parent: 'shirts', count: 42 }] }] })
// Not strict: the list takes no other parameter, and ignores any (as it always has).
export const CategoriesQuery = Type.Object({
  all: Type.Optional(Type.Boolean({ description: 'true: every managed category, those no product carries yet too (what vendors choose from)' }))
})
