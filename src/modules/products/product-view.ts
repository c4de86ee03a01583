import type { ExpressionBuilder, SelectQueryBuilder } from 'kysely'
import { jsonArrayFrom, jsonObjectFrom } from 'kysely/helpers/postgres'
import type { Config } from '../../config.ts'
import type { DB } from '../../platform/db-types.ts'
import { discounted, money } from '../../platform/money.ts'
import { publicUrl } from '../../platform/public-url.ts'
import { storeCards, type StoreCard } from '../workspaces/public.ts'
import type { ProductView, Size } from './schemas.ts'

// A product and its variants, images and price come back from one SQL statement (variants and
// images as JSON sub-selects): no N+1 on any list.

export interface DetailRow {
  id: string
  workspaceId: string
  title: string
  description: string
  priceAmount: number
  currency: string
  discountPercentage: number
  effectiveAmount: number | null
  categories: string[]
  keywords: string[]
  faq: unknown
  isActive: boolean
  unlistedAt: Date | null
  unlistedReason: string | null
  createdAt: Date
  updatedAt: Date
  variants: Array<{ id: string, size: string | null, sku: string, stock: number, priceAmount: number | null }>
  images: Array<{ id: string, storageKey: string, position: number }>
  store: StoreCard | null
}

/** The product columns and its live variants and images, as one select over `products`. */
export function withDetails<Row extends object = DetailRow> (qb: SelectQueryBuilder<DB, 'products', object>): SelectQueryBuilder<DB, 'products', Row> {
  return qb.select([
    'products.id', 'products.workspaceId', 'products.title', 'products.description', 'products.priceAmount', 'products.currency',
    'products.discountPercentage', 'products.effectiveAmount', 'products.categories', 'products.keywords', 'products.faq',
    'products.isActive', 'products.unlistedAt', 'products.unlistedReason', 'products.createdAt', 'products.updatedAt'
  ]).select((eb: ExpressionBuilder<DB, 'products'>) => [
    jsonArrayFrom(eb.selectFrom('productVariants as v').select(['v.id', 'v.size', 'v.sku', 'v.stock', 'v.priceAmount'])
      .whereRef('v.productId', '=', 'products.id').where('v.deletedAt', 'is', null).orderBy('v.position')).as('variants'),
    jsonArrayFrom(eb.selectFrom('productImages as i').select(['i.id', 'i.storageKey', 'i.position'])
      .whereRef('i.productId', '=', 'products.id').orderBy('i.position')).as('images'),
    // The store selling it: a primary-key probe per row, in the same statement.
    jsonObjectFrom(eb.selectFrom(storeCards(eb).as('s')).select(['s.id', 's.name', 's.slug', 's.logoUrl'])
      .whereRef('s.id', '=', 'products.workspaceId')).as('store')
  ]) as unknown as SelectQueryBuilder<DB, 'products', Row>
}

/** Public images are served under /files by their key without the `public/` prefix. */
const imageUrl = (config: Pick<Config, 'publicUrl'>, storageKey: string): string =>
  publicUrl(config, `/files/${storageKey.replace(/^public\//, '')}`)

export function toProductView (config: Pick<Config, 'publicUrl'>, row: DetailRow): ProductView {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    title: row.title,
    description: row.description,
    price: money(row.priceAmount, row.currency),
    discountPercentage: row.discountPercentage,
    finalPrice: money(row.effectiveAmount ?? discounted(row.priceAmount, row.discountPercentage), row.currency),
    categories: row.categories,
    keywords: row.keywords,
    faq: row.faq as ProductView['faq'],
    images: row.images.map((i) => ({ id: i.id, url: imageUrl(config, i.storageKey), position: i.position })),
    isActive: row.isActive,
    unlisted: row.unlistedAt === null ? null : { at: row.unlistedAt, reason: row.unlistedReason ?? '' },
    variants: row.variants.map((v) => {
      const list = v.priceAmount ?? row.priceAmount
      return { id: v.id, size: v.size as Size | null, sku: v.sku, stock: v.stock, price: money(list, row.currency), finalPrice: money(discounted(list, row.discountPercentage), row.currency) }
    }),
    // Every product has its workspace (a foreign key): null cannot come, but is never sent.
    store: row.store ?? { id: row.workspaceId, name: '', slug: '', logoUrl: null },
    createdAt: row.createdAt,
    updatedAt: row.updatedAt
  }
}
