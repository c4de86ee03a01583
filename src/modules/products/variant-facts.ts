import type { Queryable } from '../../platform/db.ts'
import { variantOnSale } from './stock.ts'

/**
 * What other modules may know of a variant, as a select for them to join as a subquery (one
 * statement, however many lines): `.innerJoin(variantFacts(db).as('v'), 'v.id', 'c.variantId')`.
 * `listAmount` is the variant's own price or else its product's, before `discountPercentage`;
 * `sold` is the on-sale rule.
 */
export function variantFacts (db: Queryable) {
  return db.selectFrom('productVariants as pv')
    .innerJoin('products as p', 'p.id', 'pv.productId')
    .select((eb) => [
      'pv.id', 'p.id as productId', 'p.workspaceId', 'p.title', 'pv.size', 'pv.sku', 'pv.stock',
      eb.fn.coalesce('pv.priceAmount', 'p.priceAmount').as('listAmount'), 'p.discountPercentage', 'p.currency',
      variantOnSale('pv', 'p').as('sold')
    ])
}

/**
 * The variant's stock, when it can be bought now (no row when it does not exist or is off
 * sale), as a select for a caller to embed in a statement of its own (a CTE of the cart's add).
 */
export function sellableStock (db: Queryable, variantId: string) {
  return db.selectFrom('productVariants as v')
    .innerJoin('products as p', 'p.id', 'v.productId')
    .select(['v.stock', 'p.id as productId', 'p.workspaceId'])
    .where('v.id', '=', variantId)
    .where(variantOnSale('v', 'p'))
}

/** The variant, when it can be bought now; undefined when it does not exist or is off sale. */
export async function sellableVariant (db: Queryable, variantId: string): Promise<{ stock: number, productId: string, workspaceId: string } | undefined> {
  return sellableStock(db, variantId).executeTakeFirst()
}
