import { sql, type RawBuilder, type SqlBool } from 'kysely'
import { isActiveUser } from '../users/public.ts'
import { isApprovedVendor } from '../vendor-profiles/public.ts'

/**
 * "This workspace may sell": it is live, and its owner is an active user with an approved
 * vendor profile. The workspace part of the on-sale rule (products composes it); `workspaceId`
 * is a column reference in the surrounding query, e.g. 'products.workspace_id'.
 */
export function workspaceSells (workspaceId: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`exists (select 1 from workspaces selling_w
    where selling_w.id = ${sql.ref(workspaceId)} and selling_w.deleted_at is null
      and ${isActiveUser('selling_w.owner_id')} and ${isApprovedVendor('selling_w.owner_id')})`
}
