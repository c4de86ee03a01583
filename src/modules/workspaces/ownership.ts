import type { Deps } from '../../platform/deps.ts'
import { Conflict, Forbidden, NotFound } from '../../platform/errors.ts'
import { requireRecentAuthentication, type Principal } from '../../platform/principal.ts'
import { bumpMembers } from './members.ts'
import type { WorkspaceView } from './schemas.ts'
import { holdSeller } from './selling.ts'
import { toWorkspaceView, type ListingSync } from './workspace.ts'

/**
 * The owner hands the workspace to another member (step-up); the former owner becomes an admin.
 * Its products sell on the new owner's standing (an approved vendor, or not), so `syncListing`
 * relists them in the same transaction.
 */
export async function transferOwnership (deps: Deps, actor: Principal, workspaceId: string, newOwnerId: string, syncListing: ListingSync): Promise<WorkspaceView> {
  requireRecentAuthentication(actor, deps.clock.now())
  if (newOwnerId === actor.userId) throw Conflict('ALREADY_OWNER', 'You already own this workspace.')
  const row = await deps.db.transaction().execute(async (trx) => {
    // The guard's check ran before this transaction: two transfers (or a transfer and another
    // change) racing would both pass it. Lock the workspace row, on which every ownership change
    // queues, and the two memberships, then decide on what is locked.
    const workspace = await trx.selectFrom('workspaces').select('ownerId').where('id', '=', workspaceId).where('deletedAt', 'is', null).forUpdate().executeTakeFirst()
    if (!workspace) throw NotFound('NOT_FOUND', 'workspace not found')
    const members = await trx.selectFrom('workspaceMembers').select(['userId', 'role'])
      .where('workspaceId', '=', workspaceId).where('userId', 'in', [actor.userId, newOwnerId]).orderBy('userId').forUpdate().execute()
    const actorRole = members.find((m) => m.userId === actor.userId)?.role
    if (workspace.ownerId !== actor.userId || actorRole !== 'owner') throw Forbidden('NOT_OWNER', 'Only the owner can transfer the workspace.')
    if (!members.some((m) => m.userId === newOwnerId)) throw NotFound('NOT_FOUND', 'member not found')
    await trx.updateTable('workspaceMembers').set({ role: 'admin' }).where('workspaceId', '=', workspaceId).where('userId', '=', actor.userId).execute()
    await trx.updateTable('workspaceMembers').set({ role: 'owner' }).where('workspaceId', '=', workspaceId).where('userId', '=', newOwnerId).execute()
    const updated = await trx.updateTable('workspaces').set({ ownerId: newOwnerId, updatedAt: deps.clock.now(), updatedBy: actor.userId })
      .where('id', '=', workspaceId).returningAll().executeTakeFirstOrThrow()
    await holdSeller(trx, newOwnerId)
    await syncListing(trx, { workspaceId })
    return updated
  })
  await bumpMembers(deps, [actor.userId, newOwnerId])
  return toWorkspaceView(row, 'admin')
}
