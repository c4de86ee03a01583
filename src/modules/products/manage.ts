import type { Deps } from '../../platform/deps.ts'
import type { Queryable, Trx } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import type { Principal } from '../../platform/principal.ts'
import { removeFilesLater } from '../../platform/storage.ts'
import { lockLiveWorkspace } from '../workspaces/public.ts'
import { lockCategories } from './categories.ts'
import { syncEditedProduct, syncListing } from './listing.ts'
import { toProductView, withDetails } from './product-view.ts'
import type { CreateProductBody, ManageListQuery, ProductView, UpdateProductBody } from './schemas.ts'
import { checkVariants, skuTaken, writeVariants } from './variants.ts'

// A workspace's products, managed under its products:write permission: inactive ones
// included, deleted ones gone.

function workspaceProducts (db: Queryable, workspaceId: string) {
  return withDetails(db.selectFrom('products').where('products.workspaceId', '=', workspaceId).where('products.deletedAt', 'is', null))
}

export async function listWorkspaceProducts (deps: Deps, workspaceId: string, query: ManageListQuery): Promise<PageOf<ProductView>> {
  const after = decodeCursor(query.cursor, ['uuid'])
  let q = workspaceProducts(deps.db, workspaceId)
  if (after) q = q.where('products.id', '<', after[0])
  const rows = await q.orderBy('products.id', 'desc').limit(query.limit + 1).execute()
  return toPage(rows, query.limit, (r) => toProductView(deps.config, r), (r) => [r.id])
}

export async function getWorkspaceProduct (deps: Deps, workspaceId: string, id: string, db: Queryable = deps.db): Promise<ProductView> {
  const row = await workspaceProducts(db, workspaceId).where('products.id', '=', id).executeTakeFirst()
  if (!row) throw NotFound('NOT_FOUND', 'product not found')
  return toProductView(deps.config, row)
}

/** Locks a live product of the workspace for a change to it; 404 when there is none. */
export async function lockProduct (trx: Trx, workspaceId: string, id: string): Promise<{ listed: boolean, categories: string[] }> {
  const row = await trx.selectFrom('products').select(['listed', 'categories']).where('id', '=', id).where('workspaceId', '=', workspaceId).where('deletedAt', 'is', null).forUpdate().executeTakeFirst()
  if (!row) throw NotFound('NOT_FOUND', 'product not found')
  return row
}

export async function createProduct (deps: Deps, principal: Principal, workspaceId: string, body: CreateProductBody): Promise<ProductView> {
  checkVariants(body.variants)
  try {
    return await deps.db.transaction().execute(async (trx) => {
      // Managed categories only; first, the lock order of categories.ts.
      await lockCategories(trx, body.categories ?? [])
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
      await syncListing(trx, { productId: id })
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
      if (body.categories !== undefined) await lockCategories(trx, body.categories)
      // Whether it is listed may change: the workspace first, the lock order of listing.ts.
      const relists = body.isActive !== undefined
      if (relists) await lockLiveWorkspace(trx, workspaceId)
      const before = await lockProduct(trx, workspaceId, id)
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
      if (relists || body.categories !== undefined) await syncEditedProduct(trx, id, before)
      return getWorkspaceProduct(deps, workspaceId, id, trx)
    })
  } catch (err) {
    throw skuTaken(err) ?? err
  }
}

/** Soft delete: the product leaves the catalog and carts; its images are removed by the worker. */
export async function deleteProduct (deps: Deps, principal: Principal, workspaceId: string, id: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await lockLiveWorkspace(trx, workspaceId)
    const now = deps.clock.now()
    const row = await trx.updateTable('products').set({ deletedAt: now, updatedAt: now, updatedBy: principal.userId })
      .where('id', '=', id).where('workspaceId', '=', workspaceId).where('deletedAt', 'is', null).returning('id').executeTakeFirst()
    if (!row) throw NotFound('NOT_FOUND', 'product not found')
    await trx.updateTable('productVariants').set({ deletedAt: now }).where('productId', '=', id).where('deletedAt', 'is', null).execute()
    const images = await trx.deleteFrom('productImages').where('productId', '=', id).returning('storageKey').execute()
    await removeFilesLater(trx, images.map((i) => i.storageKey))
    await syncListing(trx, { productId: id })
  })
}

/**
 * A deleted workspace's products leave with it: products and variants soft-deleted (orders and
 * carts still point at them), unlisted, image rows deleted. Returns the images' storage keys, for
 * the caller to remove through the outbox in the same transaction.
 */
export async function retireWorkspaceProducts (trx: Trx, workspaceId: string, now: Date): Promise<string[]> {
  await trx.updateTable('products').set({ deletedAt: now, updatedAt: now }).where('workspaceId', '=', workspaceId).where('deletedAt', 'is', null).execute()
  await trx.updateTable('productVariants').set({ deletedAt: now }).where('workspaceId', '=', workspaceId).where('deletedAt', 'is', null).execute()
  const images = await trx.deleteFrom('productImages')
    .where('productId', 'in', trx.selectFrom('products').select('id').where('workspaceId', '=', workspaceId))
    .returning('storageKey').execute()
  await syncListing(trx, { workspaceId })
  return images.map((i) => i.storageKey)
}
