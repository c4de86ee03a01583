import { sql, type RawBuilder } from 'kysely'
import type { Trx } from '../../platform/db.ts'
import { lockSellingWorkspaces } from '../workspaces/public.ts'
import { onSale } from './stock.ts'

// The catalog reads `products.listed`, the on-sale rule (onSale, stock.ts) stored on the row, and
// `category_counts`, how many listed products carry each category: one indexed column instead of
// a join over workspaces, users and vendor profiles per product. Both are kept in step here, in
// the transaction of every write that changes an input of the rule: a product's own activity,
// deletion or unlisting by a platform admin (this module), its workspace's deletion or new owner
// (workspaces), its owner's status (users) or review (vendor-profiles); the last three call in
// through functions app.ts passes them.
//
// Concurrency: the workspace row is where the changes queue. Product writes hold it FOR SHARE
// before their product (lockLiveWorkspace), seller changes exclusively (lockSellingWorkspaces), so
// of two changes to the same products the second waits for the first to commit and its
// statements see it: the flag the later one writes follows from both.

/** Whose products to bring in step: one product, one workspace's, or those of every workspace a user owns. */
export type ListingScope = { productId: string } | { workspaceId: string } | { ownerId: string }

/**
 * Sets `listed` to the on-sale rule for the products of `scope` where it differs, and moves the
 * category counts of those that came or went, in one statement. A product scope expects the
 * caller to hold its workspace (lockLiveWorkspace) and product; the others lock their
 * workspaces here, after the caller's own change.
 */
export async function syncListing (trx: Trx, scope: ListingScope): Promise<void> {
  let where: RawBuilder<unknown>
  if ('productId' in scope) {
    where = sql`p.id = ${scope.productId}`
  } else {
    const workspaceIds = await lockSellingWorkspaces(trx, scope)
    if (workspaceIds.length === 0) return
    // A deleted, unlisted product never comes back: the two arms let the partial indexes on
    // listed products and on live products find the candidates, without a scan of the table.
    where = sql`p.workspace_id in (${sql.join(workspaceIds)}) and (p.listed or p.deleted_at is null)`
  }
  await sql`
    with changed as (
      update products p set listed = ${onSale('p')}
      where ${where} and p.listed <> ${onSale('p')}
      returning p.listed, p.categories
    )
    ${countMoves(sql`select c.name, case when ch.listed then 1 else -1 end as delta from changed ch cross join unnest(ch.categories) as c(name)`)}`.execute(trx)
}

/**
 * After an edit of one product that may change its categories and whether it is listed: sets
 * `listed` to the rule and moves the counts from what it was (`before`, read with the product
 * locked) to what it is, in one statement. One statement, not a move and then a sync, so the
 * transaction locks its category rows once, in name order, as every other writer does: two
 * edits sharing categories queue instead of deadlocking.
 */
export async function syncEditedProduct (trx: Trx, productId: string, before: { listed: boolean, categories: string[] }): Promise<void> {
  await sql`
    with changed as (
      update products p set listed = ${onSale('p')} where p.id = ${productId}
      returning p.listed, p.categories
    )
    ${countMoves(sql`select b.name, -1 as delta from unnest(${before.listed ? before.categories : []}::text[]) as b(name)
      union all
      select c.name, 1 from changed ch cross join unnest(ch.categories) as c(name) where ch.listed`)}`.execute(trx)
}

/**
 * Adds the deltas (rows of name, delta) to the category counts. Rows are written in name order,
 * the order every writer locks them in, so two writers sharing categories queue instead of
 * deadlocking. A category that nothing carries any more stays at 0 (the reads skip it).
 */
function countMoves (deltas: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`insert into category_counts as cc (name, count)
    select d.name, sum(d.delta)::int from (${deltas}) as d group by d.name having sum(d.delta) <> 0 order by d.name
    on conflict (name) do update set count = cc.count + excluded.count`
}
