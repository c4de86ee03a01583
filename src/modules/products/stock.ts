import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely'
import type { Trx } from '../../platform/db.ts'
import { Conflict } from '../../platform/errors.ts'
import { workspaceSells } from '../workspaces/public.ts'

// Sellability and stock: one home for "is this on sale" and for every change to a variant's
// stock, used by the catalog, the cart and checkout alike. A copy elsewhere would drift, and a
// suspended vendor would keep selling through it.

/**
 * A product is on sale while it is active, not deleted, not unlisted by a platform admin, and its
 * workspace may sell (live, owned by an active user with an approved vendor profile). `product` is
 * the alias (or table name) of `products` in the surrounding query.
 */
export function onSale (product = 'products'): RawBuilder<SqlBool> {
  const p = (column: string) => sql.ref(`${product}.${column}`)
  return sql<SqlBool>`(${p('deleted_at')} is null and ${p('is_active')} and ${p('unlisted_at')} is null and ${workspaceSells(`${product}.workspace_id`)})`
}

/**
 * onSale as the catalog reads it: the `listed` flag that products/listing.ts keeps equal to it in
 * the transactions that change its inputs, one column with partial indexes `where listed`. The
 * cart and checkout, which must not trust a copy, check onSale itself.
 */
export function listedOnSale (product = 'products'): RawBuilder<SqlBool> {
  return sql<SqlBool>`${sql.ref(`${product}.listed`)}`
}

/** A variant is on sale while it is not retired and its product is on sale. */
export function variantOnSale (variant = 'v', product = 'p'): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${sql.ref(`${variant}.deleted_at`)} is null and ${onSale(product)})`
}

export const outOfStock = (variantId: string, available: number) =>
  Conflict('OUT_OF_STOCK', `Only ${available} left of variant ${variantId}.`, { extra: { variantId, available } })

export interface StockLine { variantId: string, quantity: number }

function byVariant (lines: StockLine[]): Map<string, number> {
  const wanted = new Map<string, number>()
  for (const line of lines) wanted.set(line.variantId, (wanted.get(line.variantId) ?? 0) + line.quantity)
  return wanted
}

/**
 * Takes the lines' quantities off the shelf, all or none, in one statement: the rows are locked
 * in variant-id order (the CTE's sort comes before its lock, and the update touches only rows
 * it has locked), the decrement is guarded, and it applies only when every line is covered.
 * Otherwise OUT_OF_STOCK names the first short variant and what is left of it.
 */
export async function takeStock (trx: Trx, lines: StockLine[]): Promise<void> {
  const wanted = byVariant(lines)
  const ids = [...wanted.keys()].sort()
  if (ids.length === 0) return
  // Arrays, not a values list: one statement text (one prepared plan) for any number of lines.
  const { rows } = await sql<{ id: string, stock: number, quantity: number, taken: boolean }>`
    with wanted as (select * from unnest(${ids}::uuid[], ${ids.map((id) => wanted.get(id)!)}::int[]) as w(id, quantity)),
    locked as (select v.id, v.stock from product_variants v where v.id = any(${ids}::uuid[]) order by v.id for update),
    taken as (
      update product_variants v set stock = v.stock - w.quantity, updated_at = now()
      from locked l join wanted w on w.id = l.id
      where v.id = l.id and v.id = any(${ids}::uuid[]) and v.stock >= w.quantity
        and not exists (select 1 from locked s join wanted sw on sw.id = s.id where s.stock < sw.quantity)
      returning v.id)
    select l.id, l.stock, w.quantity, exists (select 1 from taken t where t.id = l.id) as taken
    from locked l join wanted w on w.id = l.id order by l.id`.execute(trx)
  const short = rows.find((row) => row.stock < row.quantity)
  if (short) throw outOfStock(short.id, short.stock)
  if (rows.length !== ids.length || !rows.every((row) => row.taken)) throw Conflict('OUT_OF_STOCK', 'Some items sold out during checkout.')
}

/**
 * Stock lines as a query of the caller's own rows (an order's items: variantId, quantity),
 * embedded as a subquery, so the caller's rows are not read in a round trip of their own.
 */
export type StockLinesQuery = Expression<StockLine>

/**
 * Locks the variants of the lines a query selects, in one global order (variant id), the order
 * every stock change takes them in (takeStock too): two checkouts, or a checkout and a cancel,
 * sharing variants queue up instead of deadlocking.
 */
export async function lockVariantsOf (trx: Trx, lines: StockLinesQuery): Promise<void> {
  await sql`select v.id from product_variants v
    where v.id in (select l.variant_id from (${lines}) as l) order by v.id for update of v`.execute(trx)
}

/** Puts the lines' quantities back on the shelf (a cancelled order's items). */
export async function returnStock (trx: Trx, lines: StockLinesQuery): Promise<void> {
  await lockVariantsOf(trx, lines)
  await sql`
    update product_variants v set stock = v.stock + x.quantity, updated_at = now()
    from (select l.variant_id, sum(l.quantity)::int as quantity from (${lines}) as l group by l.variant_id) as x
    where v.id = x.variant_id`.execute(trx)
}
