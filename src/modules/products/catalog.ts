import { sql, type SelectQueryBuilder } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { Queryable } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import { toProductView, withDetails, type DetailRow } from './product-view.ts'
import type { CatalogQuery, ProductView } from './schemas.ts'
import { listedOnSale } from './stock.ts'

// The public catalog (SPEC 8.1): the products on sale, searched, sorted and paged by keyset.
// The same answer for everyone, read from the replica (deps.readDb) when there is one: a vendor
// reads their own edits back through the workspace's routes (manage.ts), on the primary.

/** The products on sale (one rule, in stock.ts), as the listed flag kept in step with it. */
function publicProducts (db: Queryable) {
  return db.selectFrom('products').where(listedOnSale('products'))
}

type Sort = 'relevance' | 'newest' | 'price_asc' | 'price_desc'
/** Where a query finds the sort keys: column references (snake_case) of its rows. */
interface SortKeys { id: string, amount: string, rank: string }

/**
 * Orders `qb` by `sort`, with the id as the tie-breaker, and keeps the rows after `cursor` (keyset
 * pagination): the cursor is the last row's sort key, checked by decodeCursor.
 */
function sorted<QB extends SelectQueryBuilder<any, any, any>> (qb: QB, sort: Sort, cursor: string | undefined, keys: SortKeys): QB {
  const [id, amount, rank] = [sql.ref(keys.id), sql.ref(keys.amount), sql.ref(keys.rank)]
  let q = qb as SelectQueryBuilder<any, any, any>
  if (sort === 'relevance') {
    const after = decodeCursor(cursor, ['number', 'uuid'])
    if (after) q = q.where(sql<boolean>`(${rank}, ${id}) < (${after[0]}::real, ${after[1]}::uuid)`)
    q = q.orderBy(rank, 'desc').orderBy(id, 'desc')
  } else if (sort === 'newest') {
    const after = decodeCursor(cursor, ['uuid'])
    if (after) q = q.where(sql<boolean>`${id} < ${after[0]}::uuid`)
    q = q.orderBy(id, 'desc')
  } else {
    const after = decodeCursor(cursor, ['integer', 'uuid'])
    const direction = sort === 'price_asc' ? 'asc' : 'desc'
    if (after) q = q.where(sql<boolean>`(${amount}, ${id}) ${sql.raw(direction === 'asc' ? '>' : '<')} (${after[0]}::int, ${after[1]}::uuid)`)
    q = q.orderBy(amount, direction).orderBy(id, direction)
  }
  return q as QB
}

export async function searchCatalog (deps: Deps, query: CatalogQuery): Promise<PageOf<ProductView>> {
  const sort = (query.sort === 'relevance' || query.sort === undefined ? (query.q ? 'relevance' : 'newest') : query.sort) as Sort
  let matches = publicProducts(deps.readDb)
  if (query.category) {
    // A category no listed product has answers at once (category_counts, one index probe), not
    // after a walk through the whole catalog looking for it.
    matches = matches.where(sql<boolean>`products.categories @> array[${query.category}]::text[]`)
      .where(sql<boolean>`exists (select 1 from category_counts cc where cc.name = ${query.category} and cc.count > 0)`)
  }
  if (query.workspaceId) matches = matches.where('products.workspaceId', '=', query.workspaceId)
  if (query.size) matches = matches.where(sql<boolean>`products.sizes @> array[${query.size}]::text[]`)
  if (query.minPrice !== undefined) matches = matches.where('products.effectiveAmount', '>=', query.minPrice)
  if (query.maxPrice !== undefined) matches = matches.where('products.effectiveAmount', '<=', query.maxPrice)
  const page = query.limit + 1

  if (!query.q) {
    const q = sorted(withDetails(matches), sort, query.cursor, { id: 'products.id', amount: 'products.effective_amount', rank: '' })
    const rows = await q.limit(page).execute()
    return toPage(rows, query.limit, (r) => toProductView(deps.config, r), (r) => sort === 'newest' ? [r.id] : [r.effectiveAmount, r.id])
  }

  // A search, in three steps of one statement:
  // 1. `m`: the matches' ids and sort keys, from the full-text index, whatever the sort (`offset 0`
  //    keeps the planner from merging it into step 2). Merged, a plan may walk an index in sort
  //    order and test each product for the words: for a word no product has, that reads the whole
  //    catalog, and a prepared statement's generic plan, which cannot know the words, would do so
  //    for every search. The query is parsed once (`q`, a row joined to every product), and ranked
  //    with ts_rank, a real: a broad search ranks every match (thousands), and this costs a fraction
  //    of ts_rank_cd rounded to a numeric. A real is exact in a cursor: its shortest text, which pg
  //    and JSON carry, reads back as the same real.
  // 2. `page`: those after the cursor, sorted, one page of them (narrow rows: cheap to sort).
  // 3. The page's products with their details.
  const m = matches.innerJoin(sql`websearch_to_tsquery('english', ${query.q})`.as('q'), (join) => join.onTrue())
    .where(sql<boolean>`products.search @@ q`)
    .select(['products.id', 'products.effectiveAmount', sql<number>`ts_rank(products.search, q)`.as('rank')])
    .modifyEnd(sql`offset 0`)
  const pageOf = sorted(deps.readDb.selectFrom(m.as('m')).selectAll('m'), sort, query.cursor, { id: 'm.id', amount: 'm.effective_amount', rank: 'm.rank' }).limit(page)
  const joined = deps.readDb.selectFrom('products').innerJoin(pageOf.as('page'), 'page.id', 'products.id') as unknown as typeof matches
  const q = sorted(withDetails<DetailRow & { rank: number }>(joined).select(sql<number>`page.rank`.as('rank')), sort, undefined, { id: 'page.id', amount: 'page.effective_amount', rank: 'page.rank' })
  const rows = await q.execute()
  return toPage(rows, query.limit, (r) => toProductView(deps.config, r), (r) =>
    sort === 'relevance' ? [r.rank, r.id] : sort === 'newest' ? [r.id] : [r.effectiveAmount, r.id])
}

export async function getCatalogProduct (deps: Deps, id: string): Promise<ProductView> {
  const row = await withDetails(publicProducts(deps.readDb)).where('products.id', '=', id).executeTakeFirst()
  if (!row) throw NotFound('NOT_FOUND', 'product not found')
  return toProductView(deps.config, row)
}
