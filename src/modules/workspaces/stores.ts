import type { Deps } from '../../platform/deps.ts'
import { sql, type ExpressionBuilder } from 'kysely'
import type { DB } from '../../platform/db-types.ts'
import { NotFound } from '../../platform/errors.ts'
import type { StoreView } from './schemas.ts'
import { workspaceSells } from './selling.ts'

// Stores in public: a workspace that may sell, seen by anyone through its slug, and the card of
// it that every public product carries. Branding only: the free-form settings, the owner and the
// members are never shown (settings may hold private store settings).

/**
 * The store card of every workspace, as a subquery other modules embed in a select of theirs
 * (`eb`: its expression builder; the catalog's products, one primary-key probe per row).
 */
export function storeCards<TB extends keyof DB> (eb: ExpressionBuilder<DB, TB>) {
  return eb.selectFrom('workspaces as store_w').select([
    sql.ref<string>('store_w.id').as('id'), sql.ref<string>('store_w.name').as('name'), sql.ref<string>('store_w.slug').as('slug'), sql.ref<string | null>('store_w.logo_url').as('logoUrl')
  ])
}

/** The store with this slug, if it sells now (live, its owner active and approved); else 404. One statement, on the replica. */
export async function getStore (deps: Deps, slug: string): Promise<StoreView> {
  const row = await deps.readDb.selectFrom('workspaces')
    .select(['id', 'name', 'slug', 'logoUrl', 'primaryColor', 'createdAt'])
    .where('slug', '=', slug)
    .where('deletedAt', 'is', null)
    .where(workspaceSells('workspaces.id'))
    .executeTakeFirst()
  if (!row) throw NotFound('NOT_FOUND', 'store not found')
  return { id: row.id, name: row.name, slug: row.slug, logoUrl: row.logoUrl, primaryColor: row.primaryColor, since: row.createdAt }
}
