import { sql, type RawBuilder, type SqlBool } from 'kysely'
import type { Queryable } from '../../platform/db.ts'

// "Is this on sale" is one rule with one home, used by the catalog, the cart and checkout
// alike: a copy elsewhere would drift, and a suspended vendor would keep selling through it.
// A product is on sale while it is active and not deleted, its workspace is live, and the
// workspace's owner is an active, not deleted user with an approved vendor profile.

/** `product` is the alias (or table name) of `products` in the surrounding query. */
export function onSale (product = 'products'): RawBuilder<SqlBool> {
  const p = (column: string) => sql.ref(`${product}.${column}`)
  return sql<SqlBool>`(${p('deleted_at')} is null and ${p('is_active')} and exists (
    select 1 from workspaces sale_w
      join users sale_u on sale_u.id = sale_w.owner_id
      join vendor_profiles sale_vp on sale_vp.user_id = sale_w.owner_id
    where sale_w.id = ${p('workspace_id')} and sale_w.deleted_at is null
      and sale_u.status = 'active' and sale_u.deleted_at is null
      and sale_vp.deleted_at is null and sale_vp.review_status = 'approved'))`
}

/** A variant is on sale while it is not retired and its product is on sale. */
export function variantOnSale (variant = 'v', product = 'p'): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${sql.ref(`${variant}.deleted_at`)} is null and ${onSale(product)})`
}

/** The variant, when it can be bought now; undefined when it does not exist or is off sale. */
export async function sellableVariant (db: Queryable, variantId: string): Promise<{ stock: number, productId: string, workspaceId: string } | undefined> {
  return db.selectFrom('productVariants as v')
    .innerJoin('products as p', 'p.id', 'v.productId')
    .select(['v.stock', 'p.id as productId', 'p.workspaceId'])
    .where('v.id', '=', variantId)
    .where(variantOnSale('v', 'p'))
    .executeTakeFirst()
}
