import type { Deps } from '../../platform/deps.ts'
import { BadRequest, Conflict, NotFound } from '../../platform/errors.ts'
import { removeFilesLater } from '../../platform/storage.ts'
import type { StoredUpload } from '../../platform/uploads.ts'
import { getWorkspaceProduct, lockProduct } from './manage.ts'
import type { ImageView } from './schemas.ts'

// A product's images: stored files (public), kept in order; a removed image's file is removed
// by the worker once the change commits.

export const MAX_IMAGES = 20

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
    if (!image) throw NotFound('NOT_FOUND', 'image not found')
    await removeFilesLater(trx, [image.storageKey])
  })
}

export async function reorderProductImages (deps: Deps, workspaceId: string, id: string, order: string[]): Promise<ImageView[]> {
  return deps.db.transaction().execute(async (trx) => {
    await lockProduct(trx, workspaceId, id)
    const images = await trx.selectFrom('productImages').select('id').where('productId', '=', id).execute()
    const ids = new Set(images.map((i) => i.id))
    if (order.length !== ids.size || !order.every((imageId) => ids.has(imageId))) {
      throw BadRequest('VALIDATION_FAILED', 'body/order must list every image of the product exactly once', { field: '/body/order', fieldDetail: 'must list every image of the product exactly once' })
    }
    for (const [position, imageId] of order.entries()) {
      await trx.updateTable('productImages').set({ position }).where('id', '=', imageId).execute()
    }
    return (await getWorkspaceProduct(deps, workspaceId, id, trx)).images
  })
}
