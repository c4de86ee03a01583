import { sql, type RawBuilder, type SqlBool } from 'kysely'
import type { Trx } from '../../platform/db.ts'
import { holdUser, isActiveUser } from '../users/public.ts'
import { holdVendorApproval, isApprovedVendor } from '../vendor-profiles/public.ts'

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

/** Workspaces whose sellers' state changed: one workspace, or every live one a user owns. */
export type SellerScope = { workspaceId: string } | { ownerId: string }

/**
 * Locks the workspaces of `scope` (FOR NO KEY UPDATE, in id order) until the caller's
 * transaction ends and returns their ids. The workspace row is where every change to whether
 * its products may sell queues: the product writes that take part in the rule hold it FOR SHARE
 * (lockLiveWorkspace), changes to the seller hold it exclusively, so whoever comes second
 * re-reads the rule after the first committed (products/listing.ts).
 */
export async function lockSellingWorkspaces (trx: Trx, scope: SellerScope): Promise<string[]> {
  const q = trx.selectFrom('workspaces').select('id')
  const rows = await ('workspaceId' in scope ? q.where('id', '=', scope.workspaceId) : q.where('ownerId', '=', scope.ownerId).where('deletedAt', 'is', null))
    .orderBy('id').forNoKeyUpdate().execute()
  return rows.map((r) => r.id)
}

/**
 * Holds a new owner's user row and vendor profile until the caller's transaction ends. A change
 * to that user's status or review, running at the same time, locks only the workspaces it sees
 * them own, not the one being handed over: this makes it wait for the transfer, or the transfer
 * for it, so the transfer reads their state as it stands.
 */
export async function holdSeller (trx: Trx, ownerId: string): Promise<void> {
  await holdUser(trx, ownerId)
  await holdVendorApproval(trx, ownerId)
}
