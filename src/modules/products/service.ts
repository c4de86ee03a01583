import { sql, type ExpressionBuilder, type SelectQueryBuilder } from 'kysely'
import { jsonArrayFrom } from 'kysely/helpers/postgres'
import type { Deps } from '../../platform/deps.ts'
import type { DB } from '../../platform/db-types.ts'
import type { Queryable, Trx } from '../../platform/db.ts'
import { AppError, Conflict, InvalidField, NotFound } from '../../platform/errors.ts'
import { discounted, money, type Money } from '../../platform/money.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import type { Principal } from '../../platform/principal.ts'
import type { StoredUpload } from '../../platform/uploads.ts'
import { lockLiveWorkspace, removeFilesLater } from '../workspaces/service.ts'
import type { CatalogQuery, CreateProductBody, UpdateProductBody } from './schemas.ts'
import { onSale } from './on-sale.ts'

export { onSale, sellableVariant, variantOnSale } from './on-sale.ts'

// The catalog (SPEC 8.1). A product and its variants, images and price come back from one
// SQL statement (variants and images as JSON sub-selects): no N+1 on any list.

export type Size = 'S' | 'M' | 'L' | 'XL' | 'XXL'
export const MAX_IMAGES = 20

export interface VariantView { id: string, size: Size | null, sku: string, stock: number, price: Money, finalPrice: Money }
export interface ImageView { id: string, url: string, position: number }
export interface ProductView {
  id: string
  workspaceId: string
  title: string
  description: string
  price: Money
  discountPercentage: number
  finalPrice: Money
  categories: string[]
  keywords: string[]
  faq: Array<{ question: string, answer: string }>
  images: ImageView[]
  isActive: boolean
  variants: VariantView[]
  createdAt: Date
  updatedAt: Date
}

/** The product columns and its live variants and images, as one select. */
function withDetails (qb: SelectQueryBuilder<DB, 'products', object>) {
  return qb.select([
    'products.id', 'products.workspaceId', 'products.title', 'products.description', 'products.priceAmount', 'products.currency',
    'products.discountPercentage', 'products.effectiveAmount', 'products.categories', 'products.keywords', 'products.faq',
    'products.isActive', 'products.createdAt', 'products.updatedAt'
  ]).select((eb: ExpressionBuilder<DB, 'products'>) => [
    jsonArrayFrom(eb.selectFrom('productVariants as v').select(['v.id', 'v.size', 'v.sku', 'v.stock', 'v.priceAmount'])
      .whereRef('v.productId', '=', 'products.id').where('v.deletedAt', 'is', null).orderBy('v.position')).as('variants'),
    jsonArrayFrom(eb.selectFrom('productImages as i').select(['i.id', 'i.storageKey', 'i.position'])
      .whereRef('i.productId', '=', 'products.id').orderBy('i.position')).as('images')
  ])
}

type DetailRow = {
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
  createdAt: Date
  updatedAt: Date
  variants: Array<{ id: string, size: string | null, sku: string, stock: number, priceAmount: number | null }>
  images: Array<{ id: string, storageKey: string, position: number }>
}

function view (deps: Pick<Deps, 'config'>, row: DetailRow): ProductView {
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
    images: row.images.map((i) => ({ id: i.id, url: `${deps.config.publicUrl}/files/${i.storageKey.replace(/^public\//, '')}`, position: i.position })),
    isActive: row.isActive,
    variants: row.variants.map((v) => {
      const list = v.priceAmount ?? row.priceAmount
      return { id: v.id, size: v.size as Size | null, sku: v.sku, stock: v.stock, price: money(list, row.currency), finalPrice: money(discounted(list, row.discountPercentage), row.currency) }
    }),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt
  }
}

/** The public catalog: the products on sale (one rule, in on-sale.ts). */
function publicProducts (db: Queryable) {
  return db.selectFrom('products').where(onSale('products'))
}

export async function searchCatalog (deps: Deps, query: CatalogQuery): Promise<PageOf<ProductView>> {
  const sort = query.sort === 'relevance' || query.sort === undefined ? (query.q ? 'relevance' : 'newest') : query.sort
  const tsquery = query.q ? sql`websearch_to_tsquery('english', ${query.q})` : null
  // Rounded to a numeric, so the rank in a cursor compares exactly with the rank in the query.
  const rank = tsquery ? sql<string>`round(ts_rank_cd(products.search, ${tsquery})::numeric, 6)` : null

  let q = withDetails(publicProducts(deps.db) as never) as unknown as SelectQueryBuilder<DB, 'products', DetailRow & { rank?: string }>
  if (rank) q = q.select(rank.as('rank'))
  if (tsquery) q = q.where(sql<boolean>`products.search @@ ${tsquery}`)
  if (query.category) q = q.where(sql<boolean>`products.categories @> array[${query.category}]::text[]`)
  if (query.workspaceId) q = q.where('products.workspaceId', '=', query.workspaceId)
  if (query.size) q = q.where(sql<boolean>`products.sizes @> array[${query.size}]::text[]`)
  if (query.minPrice !== undefined) q = q.where('products.effectiveAmount', '>=', query.minPrice)
  if (query.maxPrice !== undefined) q = q.where('products.effectiveAmount', '<=', query.maxPrice)

  // Keyset pagination for each sort, with the id as the tie-breaker.
  if (sort === 'relevance') {
    const after = decodeCursor(query.cursor, ['decimal', 'uuid'])
    if (after) q = q.where(sql<boolean>`(${rank}, products.id) < (${after[0]}::numeric, ${after[1]}::uuid)`)
    q = q.orderBy(sql`rank`, 'desc').orderBy('products.id', 'desc')
  } else if (sort === 'newest') {
    const after = decodeCursor(query.cursor, ['uuid'])
    if (after) q = q.where('products.id', '<', after[0])
    q = q.orderBy('products.id', 'desc')
  } else {
    const after = decodeCursor(query.cursor, ['integer', 'uuid'])
    const direction = sort === 'price_asc' ? '>' : '<'
    if (after) q = q.where(sql<boolean>`(products.effective_amount, products.id) ${sql.raw(direction)} (${after[0]}::int, ${after[1]}::uuid)`)
    q = sort === 'price_asc' ? q.orderBy('products.effectiveAmount', 'asc').orderBy('products.id', 'asc') : q.orderBy('products.effectiveAmount', 'desc').orderBy('products.id', 'desc')
  }
  const rows = await q.limit(query.limit + 1).execute() as Array<DetailRow & { rank?: string }>
  return toPage(rows, query.limit, (r) => view(deps, r), (r) =>
    sort === 'relevance' ? [String(r.rank), r.id] : sort === 'newest' ? [r.id] : [r.effectiveAmount, r.id])
}

export async function getCatalogProduct (deps: Deps, id: string): Promise<ProductView> {
  const row = await (withDetails(publicProducts(deps.db) as never) as unknown as SelectQueryBuilder<DB, 'products', DetailRow>)
    .where('products.id', '=', id).executeTakeFirst()
  if (!row) throw NotFound('product')
  return view(deps, row)
}

export async function listCategories (deps: Deps): Promise<Array<{ name: string, count: number }>> {
  const { rows } = await sql<{ name: string, count: number }>`
    select c.name, count(*)::int as count
    from (${publicProducts(deps.db).select(sql`unnest(products.categories)`.as('name'))}) as c
    group by c.name order by count desc, c.name limit 500`.execute(deps.db)
  return rows
}

// ---- Management (products:write in the workspace) ----

function workspaceProducts (db: Queryable, workspaceId: string) {
  return withDetails(db.selectFrom('products').where('products.workspaceId', '=', workspaceId).where('products.deletedAt', 'is', null)) as unknown as SelectQueryBuilder<DB, 'products', DetailRow>
}

export async function listWorkspaceProducts (deps: Deps, workspaceId: string, query: { limit: number, cursor?: string }): Promise<PageOf<ProductView>> {
  const after = decodeCursor(query.cursor, ['uuid'])
  let q = workspaceProducts(deps.db, workspaceId)
  if (after) q = q.where('products.id', '<', after[0])
  const rows = await q.orderBy('products.id', 'desc').limit(query.limit + 1).execute()
  return toPage(rows, query.limit, (r) => view(deps, r), (r) => [r.id])
}

export async function getWorkspaceProduct (deps: Deps, workspaceId: string, id: string, db: Queryable = deps.db): Promise<ProductView> {
  const row = await workspaceProducts(db, workspaceId).where('products.id', '=', id).executeTakeFirst()
  if (!row) throw NotFound('product')
  return view(deps, row)
}

type VariantInput = CreateProductBody['variants'][number]

/** Sizes: a single default variant without size, or every variant with a distinct size. */
function checkVariants (variants: VariantInput[]): void {
  const sized = variants.filter((v) => v.size)
  if (sized.length > 0 && sized.length !== variants.length) throw InvalidField('/body/variants', 'must all have a size, or be a single variant without one')
  if (sized.length === 0 && variants.length > 1) throw InvalidField('/body/variants', 'without sizes there is exactly one (default) variant')
  const sizes = new Set(sized.map((v) => v.size))
  if (sizes.size !== sized.length) throw InvalidField('/body/variants', 'sizes must be distinct')
  const skus = new Set(variants.map((v) => v.sku))
  if (skus.size !== variants.length) throw InvalidField('/body/variants', 'SKUs must be distinct')
  const kept = variants.filter((v) => v.id).map((v) => v.id)
  if (new Set(kept).size !== kept.length) throw InvalidField('/body/variants', 'each variant id may appear once')
}

function skuTaken (err: unknown): AppError | null {
  const e = err as { code?: string, constraint?: string }
  return e.code === '23505' && e.constraint === 'product_variants_sku'
    ? new AppError(409, 'SKU_TAKEN', 'A variant SKU is already used in this workspace.', { errors: [{ pointer: '/body/variants', detail: 'a SKU is taken in this workspace' }] })
    : null
}

async function writeVariants (trx: Trx, deps: Deps, productId: string, workspaceId: string, variants: VariantInput[], existing: string[]): Promise<void> {
  const now = deps.clock.now()
  const kept = new Set(variants.filter((v) => v.id).map((v) => v.id!))
  for (const id of kept) if (!existing.includes(id)) throw InvalidField('/body/variants', `variant ${id} is not one of this product's`)
  // Retired variants are soft-deleted: carts and past orders may point at them.
  const retired = existing.filter((id) => !kept.has(id))
  if (retired.length > 0) {
    await trx.updateTable('productVariants').set({ deletedAt: now }).where('id', 'in', retired).execute()
  }
  // Each write below meets the unique SKU index on its own: kept variants first give up their
  // SKUs (for a placeholder no valid SKU can equal), so a list may swap SKUs between them.
  if (kept.size > 0) {
    await trx.updateTable('productVariants').set({ sku: sql<string>`'~' || id::text` }).where('id', 'in', [...kept]).execute()
  }
  for (const [position, v] of variants.entries()) {
    const values = { size: v.size ?? null, sku: v.sku, stock: v.stock, priceAmount: v.price ?? null, position, updatedAt: now }
    if (v.id) {
      await trx.updateTable('productVariants').set(values).where('id', '=', v.id).execute()
    } else {
      await trx.insertInto('productVariants').values({ id: deps.random.uuid(), productId, workspaceId, ...values }).execute()
    }
  }
  await trx.updateTable('products').set({ sizes: variants.filter((v) => v.size).map((v) => v.size!) }).where('id', '=', productId).execute()
}

export async function createProduct (deps: Deps, principal: Principal, workspaceId: string, body: CreateProductBody): Promise<ProductView> {
  checkVariants(body.variants)
  try {
    return await deps.db.transaction().execute(async (trx) => {
      // A workspace being deleted waits for this product (and retires it), or is gone (404).
      await lockLiveWorkspace(trx, workspaceId)
      const id = deps.random.uuid()
      await trx.insertInto('products').values({
        id,
        workspaceId,
        title: body.title,
        description: body.description ?? '',
        priceAmount: body.price.amount,
        currency: body.price.currency.toLowerCase(),
        discountPercentage: body.discountPercentage ?? 0,
        categories: body.categories ?? [],
        keywords: body.keywords ?? [],
        faq: JSON.stringify(body.faq ?? []),
        isActive: body.isActive ?? true,
        createdBy: principal.userId,
        updatedBy: principal.userId
      }).execute()
      await writeVariants(trx, deps, id, workspaceId, body.variants, [])
      return getWorkspaceProduct(deps, workspaceId, id, trx)
    })
  } catch (err) {
    throw skuTaken(err) ?? err
  }
}

export async function updateProduct (deps: Deps, principal: Principal, workspaceId: string, id: string, body: UpdateProductBody): Promise<ProductView> {
  if (body.variants) checkVariants(body.variants)
  try {
    return await deps.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('products').select('id').where('id', '=', id).where('workspaceId', '=', workspaceId).where('deletedAt', 'is', null).forUpdate().executeTakeFirst()
      if (!current) throw NotFound('product')
      await trx.updateTable('products').set({
        ...(body.title !== undefined ? { title: body.title } : {}),
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.price !== undefined ? { priceAmount: body.price.amount, currency: body.price.currency.toLowerCase() } : {}),
        ...(body.discountPercentage !== undefined ? { discountPercentage: body.discountPercentage } : {}),
        ...(body.categories !== undefined ? { categories: body.categories } : {}),
        ...(body.keywords !== undefined ? { keywords: body.keywords } : {}),
        ...(body.faq !== undefined ? { faq: JSON.stringify(body.faq) } : {}),
        ...(body.isActive !== undefined ? { isActive: body.isActive } : {}),
        updatedAt: deps.clock.now(),
        updatedBy: principal.userId
      }).where('id', '=', id).execute()
      if (body.variants) {
        const existing = await trx.selectFrom('productVariants').select('id').where('productId', '=', id).where('deletedAt', 'is', null).execute()
        await writeVariants(trx, deps, id, workspaceId, body.variants, existing.map((v) => v.id))
      }
      return getWorkspaceProduct(deps, workspaceId, id, trx)
    })
  } catch (err) {
    throw skuTaken(err) ?? err
  }
}

/** Soft delete: the product leaves the catalog and carts; its images are removed by the worker. */
export async function deleteProduct (deps: Deps, principal: Principal, workspaceId: string, id: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const now = deps.clock.now()
    const row = await trx.updateTable('products').set({ deletedAt: now, updatedAt: now, updatedBy: principal.userId })
      .where('id', '=', id).where('workspaceId', '=', workspaceId).where('deletedAt', 'is', null).returning('id').executeTakeFirst()
    if (!row) throw NotFound('product')
    await trx.updateTable('productVariants').set({ deletedAt: now }).where('productId', '=', id).where('deletedAt', 'is', null).execute()
    const images = await trx.deleteFrom('productImages').where('productId', '=', id).returning('storageKey').execute()
    await removeFilesLater(trx, images.map((i) => i.storageKey))
  })
}

/**
 * A deleted workspace's products leave with it: products and variants soft-deleted (orders and
 * carts still point at them), image rows deleted. Returns the images' storage keys, for the
 * caller to remove through the outbox in the same transaction.
 */
export async function retireWorkspaceProducts (trx: Trx, workspaceId: string, now: Date): Promise<string[]> {
  await trx.updateTable('products').set({ deletedAt: now, updatedAt: now }).where('workspaceId', '=', workspaceId).where('deletedAt', 'is', null).execute()
  await trx.updateTable('productVariants').set({ deletedAt: now }).where('workspaceId', '=', workspaceId).where('deletedAt', 'is', null).execute()
  const images = await trx.deleteFrom('productImages')
    .where('productId', 'in', trx.selectFrom('products').select('id').where('workspaceId', '=', workspaceId))
    .returning('storageKey').execute()
  return images.map((i) => i.storageKey)
}

async function lockProduct (trx: Trx, workspaceId: string, id: string): Promise<void> {
  const row = await trx.selectFrom('products').select('id').where('id', '=', id).where('workspaceId', '=', workspaceId).where('deletedAt', 'is', null).forUpdate().executeTakeFirst()
  if (!row) throw NotFound('product')
}

export async function addProductImages (deps: Deps, workspaceId: string, id: string, uploads: StoredUpload[]): Promise<ImageView[]> {
  return deps.db.transaction().execute(async (trx) => {
    await lockProduct(trx, workspaceId, id)
    const { count, top } = await trx.selectFrom('productImages')
      .select([(eb) => eb.fn.countAll<number>().as('count'), (eb) => eb.fn.max('position').as('top')])
      .where('productId', '=', id).executeTakeFirstOrThrow()
    if (Number(count) + uploads.length > MAX_IMAGES) throw Conflict('TOO_MANY_IMAGES', `A product has at most ${MAX_IMAGES} images.`)
    let position = top === null ? 0 : Number(top) + 1
    for (const upload of uploads) {
      await trx.insertInto('productImages').values({ id: deps.random.uuid(), productId: id, storageKey: upload.key, position: position++ }).execute()
    }
    return (await getWorkspaceProduct(deps, workspaceId, id, trx)).images
  })
}

export async function deleteProductImage (deps: Deps, workspaceId: string, id: string, imageId: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await lockProduct(trx, workspaceId, id)
    const image = await trx.deleteFrom('productImages').where('id', '=', imageId).where('productId', '=', id).returning('storageKey').executeTakeFirst()
    if (!image) throw NotFound('image')
    await removeFilesLater(trx, [image.storageKey])
  })
}

export async function reorderProductImages (deps: Deps, workspaceId: string, id: string, order: string[]): Promise<ImageView[]> {
  return deps.db.transaction().execute(async (trx) => {
    await lockProduct(trx, workspaceId, id)
    const images = await trx.selectFrom('productImages').select('id').where('productId', '=', id).execute()
    const ids = new Set(images.map((i) => i.id))
    if (order.length !== ids.size || !order.every((imageId) => ids.has(imageId))) {
      throw InvalidField('/body/order', 'must list every image of the product exactly once')
    }
    for (const [position, imageId] of order.entries()) {
      await trx.updateTable('productImages').set({ position }).where('id', '=', imageId).execute()
    }
    return (await getWorkspaceProduct(deps, workspaceId, id, trx)).images
  })
}
