import type { Deps } from '../../platform/deps.ts'
import type { Queryable } from '../../platform/db.ts'
import { Conflict, Forbidden, NotFound } from '../../platform/errors.ts'
import { requireRecentAuthentication, type Principal } from '../../platform/principal.ts'
import { bumpProfileVersion } from '../../platform/profile-version.ts'
import { userContacts } from '../users/public.ts'
import { can } from './permissions.ts'
import type { AssignableRole, MemberView, WorkspaceRole } from './schemas.ts'

export interface Membership { workspaceId: string, name: string, slug: string, role: WorkspaceRole }

/** The live workspaces a user belongs to, with their role. */
export async function listMemberships (db: Queryable, userId: string): Promise<Membership[]> {
  const rows = await db.selectFrom('workspaceMembers as m')
    .innerJoin('workspaces as w', 'w.id', 'm.workspaceId')
    .select(['w.id as workspaceId', 'w.name', 'w.slug', 'm.role'])
    .where('m.userId', '=', userId)
    .where('w.deletedAt', 'is', null)
    .orderBy('m.createdAt')
    .execute()
  return rows.map((r) => ({ ...r, role: r.role as WorkspaceRole }))
}

export async function membershipRole (db: Queryable, userId: string, workspaceId: string): Promise<WorkspaceRole | null> {
  const row = await db.selectFrom('workspaceMembers as m')
    .innerJoin('workspaces as w', 'w.id', 'm.workspaceId')
    .select('m.role')
    .where('m.userId', '=', userId)
    .where('m.workspaceId', '=', workspaceId)
    .where('w.deletedAt', 'is', null)
    .executeTakeFirst()
  return (row?.role as WorkspaceRole | undefined) ?? null
}

export async function memberIds (db: Queryable, workspaceId: string): Promise<string[]> {
  return (await db.selectFrom('workspaceMembers').select('userId').where('workspaceId', '=', workspaceId).execute()).map((r) => r.userId)
}

/** Members' /auth/me (workspace names, roles) must show the change. */
export async function bumpMembers (deps: Deps, userIds: string[]): Promise<void> {
  await Promise.all(userIds.map((id) => bumpProfileVersion(deps, id)))
}

export async function listMembers (deps: Deps, workspaceId: string): Promise<MemberView[]> {
  const rows = await deps.db.selectFrom('workspaceMembers as m')
    .innerJoin(userContacts(deps.db).as('u'), 'u.id', 'm.userId')
    .select(['m.userId', 'u.name', 'u.email', 'm.role', 'm.createdAt as joinedAt'])
    .where('m.workspaceId', '=', workspaceId)
    .orderBy('m.createdAt')
    .execute()
  return rows.map((r) => ({ ...r, role: r.role as WorkspaceRole }))
}

export const ownerStays = () => Conflict('LAST_OWNER', 'A workspace always keeps its owner: transfer ownership first.')

async function memberRole (db: Queryable, workspaceId: string, userId: string): Promise<WorkspaceRole> {
  const row = await db.selectFrom('workspaceMembers').select('role').where('workspaceId', '=', workspaceId).where('userId', '=', userId).executeTakeFirst()
  if (!row) throw NotFound('NOT_FOUND', 'member not found')
  return row.role as WorkspaceRole
}

/** Role changes need a recent sign-in; the owner's role only changes by a transfer. */
export async function changeMemberRole (deps: Deps, actor: Principal, workspaceId: string, userId: string, role: AssignableRole): Promise<MemberView> {
  requireRecentAuthentication(actor, deps.clock.now())
  await deps.db.transaction().execute(async (trx) => {
    // Queue behind any ownership transfer (which locks the workspace row first), then lock the
    // membership so two concurrent changes cannot both pass the owner check.
    await trx.selectFrom('workspaces').select('id').where('id', '=', workspaceId).forUpdate().execute()
    const target = await trx.selectFrom('workspaceMembers').select('role').where('workspaceId', '=', workspaceId).where('userId', '=', userId).forUpdate().executeTakeFirst()
    if (!target) throw NotFound('NOT_FOUND', 'member not found')
    if (target.role === 'owner') throw ownerStays()
    await trx.updateTable('workspaceMembers').set({ role }).where('workspaceId', '=', workspaceId).where('userId', '=', userId).execute()
  })
  await bumpProfileVersion(deps, userId)
  const member = (await listMembers(deps, workspaceId)).find((m) => m.userId === userId)
  if (!member) throw NotFound('NOT_FOUND', 'member not found')
  return member
}

/**
 * Removes a member, or lets a member leave. The owner can do neither: a workspace always keeps
 * its owner. Access ends on the removed member's next request (the guard checks per request).
 */
export async function removeMember (deps: Deps, actor: Principal, actorRole: WorkspaceRole, workspaceId: string, userId: string): Promise<void> {
  const leaving = userId === actor.userId
  if (!leaving && !can(actorRole, 'members:manage')) throw Forbidden('FORBIDDEN', `Your role (${actorRole}) does not allow members:manage.`)
  if (await memberRole(deps.db, workspaceId, userId) === 'owner') throw ownerStays()
  // Guarded again in the statement: the member may have become the owner since the read.
  const removed = await deps.db.deleteFrom('workspaceMembers').where('workspaceId', '=', workspaceId).where('userId', '=', userId).where('role', '<>', 'owner').executeTakeFirst()
  if (Number(removed.numDeletedRows) === 0) throw ownerStays()
  await bumpProfileVersion(deps, userId)
}
