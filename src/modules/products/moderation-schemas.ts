import { Type, type Static } from '@sinclair/typebox'
import { Page, PageQuery } from '../../platform/pagination.ts'
import { Nullable, Strict, Text, Timestamp, Uuid } from '../../platform/schema-types.ts'

// Schemas of the platform admins' moderation of the catalog (issue 15, item 4): the managed
// categories and the unlisting of products.

export const CATEGORY_SLUG = '^[a-z0-9][a-z0-9-]{0,59}$'
export const CategorySlug = (options: { description?: string } = {}) =>
  Type.String({ pattern: CATEGORY_SLUG, description: 'lower-case letters, digits and hyphens (1-60)', ...options })
const CategoryName = Text({ minLength: 1, maxLength: 100 })

export const CategoryBody = Strict({
  name: CategoryName,
  slug: CategorySlug({ description: 'what products carry in `categories` and the catalog filters on (?category=)' }),
  parent: Type.Optional(Nullable(CategorySlug({ description: 'the parent category\'s slug; null or absent: a top-level category' })))
}, { examples: [{ name: 'Linen shirts', slug: 'linen-shirts', parent: 'shirts' }] })
export type CategoryBody = Static<typeof CategoryBody>

export const CategoryPatch = Strict({
  name: Type.Optional(CategoryName),
  slug: Type.Optional(CategorySlug({ description: 'a new slug: the products carrying the old one carry the new one' })),
  parent: Type.Optional(Nullable(CategorySlug()))
}, { minProperties: 1, examples: [{ slug: 'shirts-and-blouses', name: 'Shirts and blouses' }] })
export type CategoryPatch = Static<typeof CategoryPatch>

const categoryExample = {
  id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9eb0',
  slug: 'linen-shirts',
  name: 'Linen shirts',
  parent: 'shirts',
  listedProducts: 42,
  createdAt: '2026-12-01T10:00:00.000Z',
  updatedAt: '2026-12-01T10:00:00.000Z',
  createdBy: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e70',
  updatedBy: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e70'
}

export const CategoryView = Type.Object({
  id: Uuid(),
  slug: Type.String(),
  name: Type.String(),
  parent: Nullable(Type.String({ description: 'the parent\'s slug' })),
  listedProducts: Type.Integer({ description: 'products of the public catalog that carry it' }),
  createdAt: Timestamp(),
  updatedAt: Timestamp(),
  createdBy: Nullable(Uuid()),
  updatedBy: Nullable(Uuid())
}, { examples: [categoryExample] })
export type CategoryView = Static<typeof CategoryView>
export const CategoryPage = Page(CategoryView, { examples: [{ items: [categoryExample], nextCursor: null }] })
export const CategoryListQuery = Strict({ ...PageQuery })
export type CategoryListQuery = Static<typeof CategoryListQuery>
export const CategoryParams = Type.Object({ id: Uuid() })

export const ModerationBody = Strict({ reason: Text({ minLength: 1, maxLength: 500, description: 'why; kept in the audit trail and shown to the vendor' }) }, {
  examples: [{ reason: 'Counterfeit brand reported by the trademark owner' }]
})
export type ModerationBody = Static<typeof ModerationBody>

export const AdminProductQuery = Strict({
  workspaceId: Type.Optional(Uuid()),
  unlisted: Type.Optional(Type.Boolean({ description: 'true: only products unlisted by an admin; false: only the others' })),
  ...PageQuery
})
export type AdminProductQuery = Static<typeof AdminProductQuery>
export const AdminProductParams = Type.Object({ id: Uuid() })

export const ModerationAction = Type.Union([Type.Literal('unlist'), Type.Literal('relist')])
export type ModerationAction = Static<typeof ModerationAction>
export const ModerationEntry = Type.Object({ action: ModerationAction, reason: Type.String(), actorId: Uuid(), at: Timestamp() })
export type ModerationEntry = Static<typeof ModerationEntry>
export const ModerationTrail = Type.Object({ items: Type.Array(ModerationEntry) }, {
  examples: [{
    items: [
      { action: 'unlist', reason: 'Counterfeit brand reported by the trademark owner', actorId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e70', at: '2026-12-01T10:00:00.000Z' },
      { action: 'relist', reason: 'Vendor proved the goods genuine', actorId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e70', at: '2026-12-02T09:00:00.000Z' }
    ]
  }]
})
