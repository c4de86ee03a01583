import type { Deps } from '../../platform/deps.ts'
import type { Queryable } from '../../platform/db.ts'
import { Conflict, NotFound } from '../../platform/errors.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import type { Principal } from '../../platform/principal.ts'
import { lockLiveWorkspace } from '../workspaces/public.ts'
import { syncListing } from './listing.ts'
import type { AdminProductQuery, ModerationAction, ModerationEntry } from './moderation-schemas.ts'
import { toProductView, withDetails } from './product-view.ts'
import type { ProductView } from './schemas.ts'

// Platform moderation of products (issue 15, item 4): admins see every workspace's products and
// take one off the catalog (unlist) or put it back (relist), with a reason, each move kept in
// product_moderation. An unlisted product is off sale by the one rule (onSale, stock.ts): not in
// the catalog, not addable to a cart, not bought at checkout; its vendor still sees and edits it,
// but cannot relist it by making it active.

/** Every live product of every workspace, inactive and unlisted ones included. */
function allProducts (db: Queryable) {
  return withDetails(db.selectFrom('products').where('products.deletedAt', 'is', null))
}

export async function listAllProducts (deps: Deps, query: AdminProductQuery): Promise<PageOf<ProductView>> {
  const after = decodeCursor(query.cursor, ['uuid'])
  let q = allProducts(deps.db)
  if (query.workspaceId) q = q.where('products.workspaceId', '=', query.workspaceId)
  if (query.unlisted !== undefined) q = q.where('products.unlistedAt', query.unlisted ? 'is not' : 'is', null)
  if (after) q = q.where('products.id', '<', after[0])
  const rows = await q.orderBy('products.id', 'desc').limit(query.limit + 1).execute()
  return toPage(rows, query.limit, (r) => toProductView(deps.config, r), (r) => [r.id])
}

export async function getAnyProduct (deps: Deps, id: string, db: Queryable = deps.db): Promise<ProductView> {
  const row = await allProducts(db).where('products.id', '=', id).executeTakeFirst()
  if (!row) throw NotFound('NOT_FOUND', 'product not found')
  return toProductView(deps.config, row)
}

/**
 * Unlists or relists a product: the state on the row, the move in the trail, and the catalog's
 * copy (listed flag, category counts) in step, in one transaction. Locks as a product write does
 * (workspace FOR SHARE, then the product), so a vendor's edit and a moderation queue.
 */
export async function moderateProduct (deps: Deps, admin: Principal, id: string, action: ModerationAction, reason: string): Promise<ProductView> {
  return deps.db.transaction().execute(async (trx) => {
    const found = await trx.selectFrom('products').select('workspaceId').where('id', '=', id).where('deletedAt', 'is', null).executeTakeFirst()
    if (!found) throw NotFound('NOT_FOUND', 'product not found')
    await lockLiveWorkspace(trx, found.workspaceId)
    const product = await trx.selectFrom('products').select('unlistedAt').where('id', '=', id).where('deletedAt', 'is', null).forUpdate().executeTakeFirst()
    if (!product) throw NotFound('NOT_FOUND', 'product not found')
    if (action === 'unlist' && product.unlistedAt !== null) throw Conflict('ALREADY_UNLISTED', 'The product is unlisted already.')
    if (action === 'relist' && product.unlistedAt === null) throw Conflict('NOT_UNLISTED', 'The product is not unlisted.')
    const now = deps.clock.now()
    await trx.updateTable('products').set({
      unlistedAt: action === 'unlist' ? now : null,
      unlistedReason: action === 'unlist' ? reason : null,
      updatedAt: now,
      updatedBy: admin.userId
    }).where('id', '=', id).execute()
    await trx.insertInto('productModeration').values({ id: deps.random.uuid(), productId: id, action, reason, actorId: admin.userId, at: now }).execute()
    await syncListing(trx, { productId: id })
    return getAnyProduct(deps, id, trx)
  })
}

/** The product's moderation trail, oldest first; a product that never existed is 404. */
export async function moderationTrail (deps: Deps, id: string): Promise<ModerationEntry[]> {
  const product = await deps.db.selectFrom('products').select('id').where('id', '=', id).executeTakeFirst()
  if (!product) throw NotFound('NOT_FOUND', 'product not found')
  const rows = await deps.db.selectFrom('productModeration').select(['action', 'reason', 'actorId', 'at'])
    .where('productId', '=', id).orderBy('at').orderBy('id').execute()
  return rows.map((r) => ({ ...r, action: r.action as ModerationAction }))
}
