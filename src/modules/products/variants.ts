import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { Trx } from '../../platform/db.ts'
import { BadRequest, Conflict, isUniqueViolation, type AppError } from '../../platform/errors.ts'
import type { CreateProductBody } from './schemas.ts'

// A product's variants are written as a full list: ids keep variants, no id adds one, a
// missing id retires it.

export type VariantInput = CreateProductBody['variants'][number]

const invalidVariants = (detail: string) =>
  BadRequest('VALIDATION_FAILED', `body/variants ${detail}`, { field: '/body/variants', fieldDetail: detail })

/** Sizes: a single default variant without size, or every variant with a distinct size. */
export function checkVariants (variants: VariantInput[]): void {
  const sized = variants.filter((v) => v.size)
  if (sized.length > 0 && sized.length !== variants.length) throw invalidVariants('must all have a size, or be a single variant without one')
  if (sized.length === 0 && variants.length > 1) throw invalidVariants('without sizes there is exactly one (default) variant')
  const sizes = new Set(sized.map((v) => v.size))
  if (sizes.size !== sized.length) throw invalidVariants('sizes must be distinct')
  const skus = new Set(variants.map((v) => v.sku))
  if (skus.size !== variants.length) throw invalidVariants('SKUs must be distinct')
  const kept = variants.filter((v) => v.id).map((v) => v.id)
  if (new Set(kept).size !== kept.length) throw invalidVariants('each variant id may appear once')
}

/** The SKU_TAKEN conflict when `err` is the unique SKU index refusing a write, else null. */
export function skuTaken (err: unknown): AppError | null {
  return isUniqueViolation(err, 'product_variants_sku')
    ? Conflict('SKU_TAKEN', 'A variant SKU is already used in this workspace.', { field: '/body/variants', fieldDetail: 'a SKU is taken in this workspace' })
    : null
}

/** Writes the full variant list of a product whose live variants are `existing`. */
export async function writeVariants (trx: Trx, deps: Pick<Deps, 'clock' | 'random'>, productId: string, workspaceId: string, variants: VariantInput[], existing: string[]): Promise<void> {
  const now = deps.clock.now()
  const kept = new Set(variants.filter((v) => v.id).map((v) => v.id!))
  for (const id of kept) if (!existing.includes(id)) throw invalidVariants(`variant ${id} is not one of this product's`)
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
