import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { Queryable, Trx } from '../../platform/db.ts'
import { BadRequest, Conflict, NotFound, isUniqueViolation } from '../../platform/errors.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import type { Principal } from '../../platform/principal.ts'
import { lockSellingWorkspaces } from '../workspaces/public.ts'
import type { CategoryBody, CategoryListQuery, CategoryPatch, CategoryView } from './moderation-schemas.ts'
import type { Category } from './schemas.ts'

// The managed categories (issue 15, item 4): platform admins keep the list, vendors choose from
// it. Products carry slugs (products.categories, which the catalog filters and category_counts
// count), so a slug's rename rewrites the products that carry it, in its transaction.
//
// Locks: a product write takes its categories FOR SHARE before anything else (lockCategories); an
// admin's write of categories first takes the table in SHARE ROW EXCLUSIVE mode (admin writes run
// one at a time; product writes' FOR SHARE does not conflict with it), then its category FOR
// UPDATE, then the products, then the counts. So a product write and a rename of one of its
// categories queue in that order, never the other way round, and a write that waited for a rename
// or deletion finds the old slug gone (a 400).

const SLUG_TAKEN = 'categories_slug_key'

/**
 * Admin writes of categories run one at a time. A move must see every other move (two at once
 * could each pass the cycle check and together make a cycle), and a write that locks one row and
 * then another (a category, then its new parent) would otherwise deadlock with one doing the
 * reverse. Product writes (FOR SHARE, a ROW SHARE lock on the table) pass.
 */
async function serializeCategoryWrites (trx: Trx): Promise<void> {
  await sql`lock table categories in share row exclusive mode`.execute(trx)
}
const slugTaken = () => Conflict('SLUG_TAKEN', 'Another category has this slug.', { field: '/body/slug', fieldDetail: 'is taken by another category' })

/**
 * Locks the categories a product write names, FOR SHARE, and refuses an unknown one with a 400
 * naming it (`/body/categories/<i>`). One statement text for any number of slugs.
 */
export async function lockCategories (trx: Trx, slugs: readonly string[]): Promise<void> {
  if (slugs.length === 0) return
  const { rows } = await sql<{ slug: string }>`select slug from categories where slug = any(${slugs}::text[]) order by slug for share`.execute(trx)
  const known = new Set(rows.map((r) => r.slug))
  const unknown = slugs.findIndex((slug) => !known.has(slug))
  if (unknown >= 0) {
    const detail = `is not a category (${slugs[unknown]}); GET /categories?all=true lists them`
    throw BadRequest('VALIDATION_FAILED', `body/categories/${unknown} ${detail}`, { field: `/body/categories/${unknown}`, fieldDetail: detail })
  }
}

/**
 * The public list: categories with how many catalog products carry each, most used first; empty
 * ones only with `all`. Lag-tolerant like the rest of the catalog, so from the replica when there
 * is one (an admin's or a vendor's change routes reads to the primary until it has replayed).
 */
export async function listCategories (deps: Deps, all: boolean): Promise<Category[]> {
  const rows = all
    ? await deps.readDb.selectFrom('categories as c').leftJoin('categoryCounts as cc', 'cc.name', 'c.slug').leftJoin('categories as p', 'p.id', 'c.parentId')
      .select(['c.slug', 'c.name', 'p.slug as parent', sql<number>`greatest(coalesce(cc.count, 0), 0)`.as('count')])
      .orderBy('count', 'desc').orderBy('c.slug').limit(500).execute()
    // Driven by the counts' partial index, as before the list was managed.
    : await deps.readDb.selectFrom('categoryCounts as cc').innerJoin('categories as c', 'c.slug', 'cc.name').leftJoin('categories as p', 'p.id', 'c.parentId')
      .select(['c.slug', 'c.name', 'p.slug as parent', 'cc.count'])
      .where(sql<boolean>`cc.count > 0`).orderBy('cc.count', 'desc').orderBy('cc.name').limit(500).execute()
  return rows
}

function categoryRows (db: Queryable) {
  return db.selectFrom('categories as c').leftJoin('categories as p', 'p.id', 'c.parentId').leftJoin('categoryCounts as cc', 'cc.name', 'c.slug')
    .select(['c.id', 'c.slug', 'c.name', 'p.slug as parent', sql<number>`greatest(coalesce(cc.count, 0), 0)`.as('listedProducts'),
      'c.createdAt', 'c.updatedAt', 'c.createdBy', 'c.updatedBy'])
}

export async function listManagedCategories (deps: Deps, query: CategoryListQuery): Promise<PageOf<CategoryView>> {
  const after = decodeCursor(query.cursor, ['string'])
  let q = categoryRows(deps.db)
  if (after) q = q.where('c.slug', '>', after[0])
  const rows = await q.orderBy('c.slug').limit(query.limit + 1).execute()
  return toPage(rows, query.limit, (r) => r, (r) => [r.slug])
}

async function categoryView (db: Queryable, id: string): Promise<CategoryView> {
  const row = await categoryRows(db).where('c.id', '=', id).executeTakeFirst()
  if (!row) throw NotFound('NOT_FOUND', 'category not found')
  return row
}

/** The id of the parent a body names; an unknown slug is a 400 naming /body/parent. */
async function parentId (trx: Trx, slug: string | null | undefined): Promise<string | null> {
  if (slug === null || slug === undefined) return null
  const row = await trx.selectFrom('categories').select('id').where('slug', '=', slug).forShare().executeTakeFirst()
  if (!row) throw BadRequest('VALIDATION_FAILED', `body/parent is not a category (${slug})`, { field: '/body/parent', fieldDetail: 'is not a category' })
  return row.id
}

export async function createCategory (deps: Deps, admin: Principal, body: CategoryBody): Promise<CategoryView> {
  try {
    return await deps.db.transaction().execute(async (trx) => {
      await serializeCategoryWrites(trx)
      const id = deps.random.uuid()
      const now = deps.clock.now()
      await trx.insertInto('categories').values({
        id, slug: body.slug, name: body.name, parentId: await parentId(trx, body.parent), createdAt: now, updatedAt: now, createdBy: admin.userId, updatedBy: admin.userId
      }).execute()
      return categoryView(trx, id)
    })
  } catch (err) {
    throw isUniqueViolation(err, SLUG_TAKEN) ? slugTaken() : err
  }
}

/** A new parent must not be the category itself or one of its descendants (no cycles). */
async function checkParent (trx: Trx, id: string, newParentId: string | null): Promise<void> {
  if (newParentId === null) return
  const { rows } = await sql<{ id: string }>`
    with recursive ancestors (id, parent_id) as (
      select id, parent_id from categories where id = ${newParentId}
      union all
      select c.id, c.parent_id from categories c join ancestors a on c.id = a.parent_id
    ) select id from ancestors where id = ${id}`.execute(trx)
  if (rows.length > 0) throw BadRequest('VALIDATION_FAILED', 'body/parent would make the category its own ancestor', { field: '/body/parent', fieldDetail: 'would make the category its own ancestor' })
}

/** Renames, moves or re-slugs a category; the products carrying its old slug carry the new one. */
export async function updateCategory (deps: Deps, admin: Principal, id: string, patch: CategoryPatch): Promise<CategoryView> {
  try {
    return await deps.db.transaction().execute(async (trx) => {
      await serializeCategoryWrites(trx)
      const current = await trx.selectFrom('categories').select(['id', 'slug']).where('id', '=', id).forUpdate().executeTakeFirst()
      if (!current) throw NotFound('NOT_FOUND', 'category not found')
      const newParent = patch.parent === undefined ? undefined : await parentId(trx, patch.parent)
      if (newParent !== undefined) await checkParent(trx, id, newParent)
      await trx.updateTable('categories').set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.slug !== undefined ? { slug: patch.slug } : {}),
        ...(newParent !== undefined ? { parentId: newParent } : {}),
        updatedAt: deps.clock.now(),
        updatedBy: admin.userId
      }).where('id', '=', id).execute()
      if (patch.slug !== undefined && patch.slug !== current.slug) await moveSlug(trx, current.slug, patch.slug)
      return categoryView(trx, id)
    })
  } catch (err) {
    throw isUniqueViolation(err, SLUG_TAKEN) ? slugTaken() : err
  }
}

/**
 * Every product carrying `from` carries `to` instead (deleted ones too, so nothing dangles), and
 * the catalog's count moves with it. First their workspaces, in id order, as a change to a seller
 * locks them (listing.ts): a suspension rewriting the same products' listing queues instead of
 * deadlocking; then the products in id order, so two renames sharing products queue too.
 */
async function moveSlug (trx: Trx, from: string, to: string): Promise<void> {
  const { rows } = await sql<{ workspaceId: string }>`select distinct workspace_id as "workspaceId" from products where categories @> array[${from}]::text[] order by 1`.execute(trx)
  for (const { workspaceId } of rows) await lockSellingWorkspaces(trx, { workspaceId })
  await sql`select id from products where categories @> array[${from}]::text[] order by id for update`.execute(trx)
  await sql`update products set categories = array_replace(categories, ${from}, ${to}) where categories @> array[${from}]::text[]`.execute(trx)
  await trx.deleteFrom('categoryCounts').where('name', '=', to).execute()
  await trx.updateTable('categoryCounts').set({ name: to }).where('name', '=', from).execute()
}

/** Deletes a category no live product carries and no category has as its parent; 409 otherwise. */
export async function deleteCategory (deps: Deps, id: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    await serializeCategoryWrites(trx)
    const row = await trx.selectFrom('categories').select('slug').where('id', '=', id).forUpdate().executeTakeFirst()
    if (!row) throw NotFound('NOT_FOUND', 'category not found')
    const child = await trx.selectFrom('categories').select('slug').where('parentId', '=', id).limit(1).executeTakeFirst()
    if (child) throw Conflict('CATEGORY_HAS_CHILDREN', `Category ${row.slug} is the parent of ${child.slug}: move or delete its children first.`)
    const { rows: [used] } = await sql<{ n: number }>`select count(*)::int as n from products where deleted_at is null and categories @> array[${row.slug}]::text[]`.execute(trx)
    if (used!.n > 0) {
      throw Conflict('CATEGORY_IN_USE', `${used!.n} product(s) carry category ${row.slug}: take it off them, or rename it instead.`, { extra: { products: used!.n } })
    }
    await trx.deleteFrom('categoryCounts').where('name', '=', row.slug).execute()
    await trx.deleteFrom('categories').where('id', '=', id).execute()
  })
}
