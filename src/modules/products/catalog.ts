import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { Queryable } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import { toProductView, withDetails, type DetailRow } from './product-view.ts'
import type { CatalogQuery, Category, ProductView } from './schemas.ts'
import { onSale } from './stock.ts'

// The public catalog (SPEC 8.1): the products on sale, searched, sorted and paged by keyset.

/** The products on sale (one rule, in stock.ts). */
function publicProducts (db: Queryable) {
  return db.selectFrom('products').where(onSale('products'))
}

export async function searchCatalog (deps: Deps, query: CatalogQuery): Promise<PageOf<ProductView>> {
  const sort = query.sort === 'relevance' || query.sort === undefined ? (query.q ? 'relevance' : 'newest') : query.sort
  const tsquery = query.q ? sql`websearch_to_tsquery('english', ${query.q})` : null
  // Rounded to a numeric, so the rank in a cursor compares exactly with the rank in the query.
  const rank = tsquery ? sql<string>`round(ts_rank_cd(products.search, ${tsquery})::numeric, 6)` : null

  let q = withDetails<DetailRow & { rank?: string }>(publicProducts(deps.db))
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
  const rows = await q.limit(query.limit + 1).execute()
  return toPage(rows, query.limit, (r) => toProductView(deps.config, r), (r) =>
    sort === 'relevance' ? [String(r.rank), r.id] : sort === 'newest' ? [r.id] : [r.effectiveAmount, r.id])
}

export async function getCatalogProduct (deps: Deps, id: string): Promise<ProductView> {
  const row = await withDetails(publicProducts(deps.db)).where('products.id', '=', id).executeTakeFirst()
  if (!row) throw NotFound('NOT_FOUND', 'product not found')
  return toProductView(deps.config, row)
}

export async function listCategories (deps: Deps): Promise<Category[]> {
  const { rows } = await sql<Category>`
    select c.name, count(*)::int as count
    from (${publicProducts(deps.db).select(sql`unnest(products.categories)`.as('name'))}) as c
    group by c.name order by count desc, c.name limit 500`.execute(deps.db)
  return rows
}
