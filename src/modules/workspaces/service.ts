import type { Selectable } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { Queryable, Trx } from '../../platform/db.ts'
import type { Workspaces } from '../../platform/db-types.ts'
import { AppError, Conflict, Forbidden, NotFound } from '../../platform/errors.ts'
import { addToOutbox } from '../../platform/outbox.ts'
import { newId } from '../../platform/clock.ts'
import { requireRecentAuthentication, type Principal } from '../../platform/principal.ts'
import type { StoredUpload } from '../../platform/uploads.ts'
import { emailInTransaction } from '../../emails.ts'
import { bumpProfileVersion } from '../sessions/service.ts'
import { retireWorkspaceProducts } from '../products/service.ts'
import { can, type WorkspaceRole } from './permissions.ts'

// Workspaces are the tenants: a vendor's store, its members, and everything under /workspaces/:wid.

export type { WorkspaceRole }

type WorkspaceRow = Selectable<Workspaces>

export interface WorkspaceView {
  id: string
  name: string
  slug: string
  ownerId: string
  logoUrl: string | null
  primaryColor: string | null
  settings: Record<string, unknown>
  createdAt: Date
  updatedAt: Date
  createdBy: string | null
  updatedBy: string | null
  /** The caller's role, where the view is for a member. */
  role?: WorkspaceRole
}

export interface Membership { workspaceId: string, name: string, slug: string, role: WorkspaceRole }

export const INVITATION_TTL_MS = 7 * 24 * 3600_000

export function slugify (name: string): string {
  const slug = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48).replace(/-+$/, '')
  return slug || 'workspace'
}

export function toWorkspaceView (row: WorkspaceRow, role?: WorkspaceRole): WorkspaceView {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    ownerId: row.ownerId,
    logoUrl: row.logoUrl,
    primaryColor: row.primaryColor,
    settings: (row.settings ?? {}) as Record<string, unknown>,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    createdBy: row.createdBy,
    updatedBy: row.updatedBy,
    ...(role ? { role } : {})
  }
}

const slugTaken = (slug: string) => new AppError(409, 'SLUG_TAKEN', `The slug "${slug}" is taken.`, { errors: [{ pointer: '/body/slug', detail: 'is taken' }] })

/** Creates a workspace with `ownerId` as its owner, in the caller's transaction. */
export async function createWorkspace (trx: Queryable, input: { name: string, slug?: string, ownerId: string }): Promise<WorkspaceView> {
  const base = input.slug ?? slugify(input.name)
  // A requested slug must be free; a derived one gets a short suffix until it is.
  for (let attempt = 0; attempt < 8; attempt++) {
    const slug = attempt === 0 ? base : `${base.slice(0, 43)}-${newId().slice(-4)}`
    const id = newId()
    const row = await trx.insertInto('workspaces')
      .values({ id, name: input.name, slug, ownerId: input.ownerId, createdBy: input.ownerId, updatedBy: input.ownerId })
      .onConflict((oc) => oc.column('slug').where('deletedAt', 'is', null).doNothing())
      .returningAll()
      .executeTakeFirst()
    if (row) {
      await trx.insertInto('workspaceMembers').values({ workspaceId: id, userId: input.ownerId, role: 'owner' }).execute()
      return toWorkspaceView(row, 'owner')
    }
    if (input.slug !== undefined) break
  }
  throw slugTaken(base)
}

export async function createOwnWorkspace (deps: Deps, principal: Principal, input: { name: string, slug?: string }): Promise<WorkspaceView> {
  const view = await deps.db.transaction().execute((trx) => createWorkspace(trx, { ...input, ownerId: principal.userId }))
  await bumpProfileVersion(deps, principal.userId)
  return view
}

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

export async function listMyWorkspaces (deps: Deps, userId: string): Promise<WorkspaceView[]> {
  const rows = await deps.db.selectFrom('workspaceMembers as m')
    .innerJoin('workspaces as w', 'w.id', 'm.workspaceId')
    .selectAll('w')
    .select('m.role')
    .where('m.userId', '=', userId)
    .where('w.deletedAt', 'is', null)
    .orderBy('w.createdAt')
    .execute()
  return rows.map((r) => toWorkspaceView(r, r.role as WorkspaceRole))
}

/**
 * The live workspace, or 404. A writer passes `lock`: its decision (the logo to remove, whether
 * the workspace still exists) then holds until it commits, and concurrent writers queue on the row.
 * 'share' is for adding to the workspace (an invitation): a deletion waits for it, and sees it.
 */
async function liveWorkspace (db: Queryable, id: string, lock?: 'write' | 'share'): Promise<WorkspaceRow> {
  const q = db.selectFrom('workspaces').selectAll().where('id', '=', id).where('deletedAt', 'is', null)
  const row = await (lock === 'write' ? q.forNoKeyUpdate() : lock === 'share' ? q.forShare() : q).executeTakeFirst()
  if (!row) throw NotFound('workspace')
  return row
}

/**
 * For work that adds to a workspace (a product): holds off its deletion until the caller's
 * transaction ends, and refuses a deleted one, so nothing is added that the deletion would miss.
 */
export async function lockLiveWorkspace (trx: Trx, id: string): Promise<void> {
  await liveWorkspace(trx, id, 'share')
}

export async function getWorkspace (deps: Deps, id: string, role: WorkspaceRole): Promise<WorkspaceView> {
  return toWorkspaceView(await liveWorkspace(deps.db, id), role)
}

async function memberIds (db: Queryable, workspaceId: string): Promise<string[]> {
  return (await db.selectFrom('workspaceMembers').select('userId').where('workspaceId', '=', workspaceId).execute()).map((r) => r.userId)
}

/** Members' /auth/me (workspace names, roles) must show the change. */
async function bumpMembers (deps: Deps, userIds: string[]): Promise<void> {
  await Promise.all(userIds.map((id) => bumpProfileVersion(deps, id)))
}

/** A stored file that a change orphans is removed by the worker, if and only if the change commits. */
const FILES_PER_JOB = 200

export async function removeFilesLater (trx: Trx, keys: Array<string | null | undefined>): Promise<void> {
  const present = keys.filter((k): k is string => typeof k === 'string' && k.length > 0)
  // In batches: a whole store's images would make one job too large to retry cheaply.
  for (let i = 0; i < present.length; i += FILES_PER_JOB) {
    await addToOutbox(trx, 'files', 'remove', { keys: present.slice(i, i + FILES_PER_JOB) })
  }
}

export interface WorkspacePatch { name?: string, slug?: string, logoUrl?: string | null, primaryColor?: string | null, settings?: Record<string, unknown> }

export async function updateWorkspace (deps: Deps, actor: Principal, id: string, role: WorkspaceRole, patch: WorkspacePatch): Promise<WorkspaceView> {
  const row = await deps.db.transaction().execute(async (trx) => {
    const current = await liveWorkspace(trx, id, 'write')
    const logoChanges = patch.logoUrl !== undefined && patch.logoUrl !== current.logoUrl
    try {
      const updated = await trx.updateTable('workspaces')
        .set({
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.slug !== undefined ? { slug: patch.slug } : {}),
          ...(patch.primaryColor !== undefined ? { primaryColor: patch.primaryColor } : {}),
          ...(patch.settings !== undefined ? { settings: JSON.stringify(patch.settings) } : {}),
          ...(logoChanges ? { logoUrl: patch.logoUrl, logoKey: null } : {}),
          updatedAt: deps.clock.now(),
          updatedBy: actor.userId
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow()
      if (logoChanges) await removeFilesLater(trx, [current.logoKey])
      return updated
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw slugTaken(patch.slug ?? '')
      throw err
    }
  })
  if (patch.name !== undefined || patch.slug !== undefined) await bumpMembers(deps, await memberIds(deps.db, id))
  return toWorkspaceView(row, role)
}

export async function setWorkspaceLogo (deps: Deps, actor: Principal, id: string, upload: StoredUpload): Promise<{ logoUrl: string }> {
  const logoUrl = `${deps.config.publicUrl}/files/${upload.key.replace(/^public\//, '')}`
  await deps.db.transaction().execute(async (trx) => {
    const current = await liveWorkspace(trx, id, 'write')
    await trx.updateTable('workspaces').set({ logoUrl, logoKey: upload.key, updatedAt: deps.clock.now(), updatedBy: actor.userId }).where('id', '=', id).execute()
    await removeFilesLater(trx, [current.logoKey])
  })
  return { logoUrl }
}

/** Soft delete (owner only): the workspace disappears for everyone; its files are removed. */
export async function deleteWorkspace (deps: Deps, actor: Principal, id: string): Promise<void> {
  const members = await memberIds(deps.db, id)
  await deps.db.transaction().execute(async (trx) => {
    const current = await liveWorkspace(trx, id, 'write')
    await trx.updateTable('workspaces').set({ deletedAt: deps.clock.now(), updatedAt: deps.clock.now(), updatedBy: actor.userId }).where('id', '=', id).execute()
    await trx.updateTable('workspaceInvitations').set({ revokedAt: deps.clock.now() })
      .where('workspaceId', '=', id).where('acceptedAt', 'is', null).where('revokedAt', 'is', null).execute()
    // Its products go with it, and their images leave storage (SPEC 8.2).
    const images = await retireWorkspaceProducts(trx, id, deps.clock.now())
    await removeFilesLater(trx, [current.logoKey, ...images])
  })
  await bumpMembers(deps, members)
}

// ---- Members ----

export interface MemberView { userId: string, name: string, email: string, role: WorkspaceRole, joinedAt: Date }

export async function listMembers (deps: Deps, workspaceId: string): Promise<MemberView[]> {
  const rows = await deps.db.selectFrom('workspaceMembers as m')
    .innerJoin('users as u', 'u.id', 'm.userId')
    .select(['m.userId', 'u.name', 'u.email', 'm.role', 'm.createdAt as joinedAt'])
    .where('m.workspaceId', '=', workspaceId)
    .orderBy('m.createdAt')
    .execute()
  return rows.map((r) => ({ ...r, role: r.role as WorkspaceRole }))
}

const ownerStays = () => Conflict('LAST_OWNER', 'A workspace always keeps its owner: transfer ownership first.')

async function memberRow (db: Queryable, workspaceId: string, userId: string): Promise<{ role: WorkspaceRole }> {
  const row = await db.selectFrom('workspaceMembers').select('role').where('workspaceId', '=', workspaceId).where('userId', '=', userId).executeTakeFirst()
  if (!row) throw NotFound('member')
  return { role: row.role as WorkspaceRole }
}

/** Role changes need a recent sign-in; the owner's role only changes by a transfer. */
export async function changeMemberRole (deps: Deps, actor: Principal, workspaceId: string, userId: string, role: 'admin' | 'member'): Promise<MemberView> {
  requireRecentAuthentication(actor, deps.clock.now())
  await deps.db.transaction().execute(async (trx) => {
    // Queue behind any ownership transfer (which locks the workspace row first), then lock the
    // membership so two concurrent changes cannot both pass the owner check.
    await trx.selectFrom('workspaces').select('id').where('id', '=', workspaceId).forUpdate().execute()
    const target = await trx.selectFrom('workspaceMembers').select('role').where('workspaceId', '=', workspaceId).where('userId', '=', userId).forUpdate().executeTakeFirst()
    if (!target) throw NotFound('member')
    if (target.role === 'owner') throw ownerStays()
    await trx.updateTable('workspaceMembers').set({ role }).where('workspaceId', '=', workspaceId).where('userId', '=', userId).execute()
  })
  await bumpProfileVersion(deps, userId)
  const member = (await listMembers(deps, workspaceId)).find((m) => m.userId === userId)
  if (!member) throw NotFound('member')
  return member
}

/**
 * Removes a member, or lets a member leave. The owner can do neither: a workspace always keeps
 * its owner. Access ends on the removed member's next request (the guard checks per request).
 */
export async function removeMember (deps: Deps, actor: Principal, actorRole: WorkspaceRole, workspaceId: string, userId: string): Promise<void> {
  const leaving = userId === actor.userId
  if (!leaving && !can(actorRole, 'members:manage')) throw Forbidden(`Your role (${actorRole}) does not allow members:manage.`)
  const target = await memberRow(deps.db, workspaceId, userId)
  if (target.role === 'owner') throw ownerStays()
  // Guarded again in the statement: the member may have become the owner since the read.
  const removed = await deps.db.deleteFrom('workspaceMembers').where('workspaceId', '=', workspaceId).where('userId', '=', userId).where('role', '<>', 'owner').executeTakeFirst()
  if (Number(removed.numDeletedRows) === 0) throw ownerStays()
  await bumpProfileVersion(deps, userId)
}

/** The owner hands the workspace to another member (step-up); the former owner becomes an admin. */
export async function transferOwnership (deps: Deps, actor: Principal, workspaceId: string, newOwnerId: string): Promise<WorkspaceView> {
  requireRecentAuthentication(actor, deps.clock.now())
  if (newOwnerId === actor.userId) throw Conflict('ALREADY_OWNER', 'You already own this workspace.')
  const row = await deps.db.transaction().execute(async (trx) => {
    // The guard's check ran before this transaction: two transfers (or a transfer and another
    // change) racing would both pass it. Lock the workspace row, on which every ownership change
    // queues, and the two memberships, then decide on what is locked.
    const workspace = await trx.selectFrom('workspaces').select('ownerId').where('id', '=', workspaceId).where('deletedAt', 'is', null).forUpdate().executeTakeFirst()
    if (!workspace) throw NotFound('workspace')
    const members = await trx.selectFrom('workspaceMembers').select(['userId', 'role'])
      .where('workspaceId', '=', workspaceId).where('userId', 'in', [actor.userId, newOwnerId]).orderBy('userId').forUpdate().execute()
    const actorRole = members.find((m) => m.userId === actor.userId)?.role
    if (workspace.ownerId !== actor.userId || actorRole !== 'owner') throw Forbidden('Only the owner can transfer the workspace.', 'NOT_OWNER')
    if (!members.some((m) => m.userId === newOwnerId)) throw NotFound('member')
    await trx.updateTable('workspaceMembers').set({ role: 'admin' }).where('workspaceId', '=', workspaceId).where('userId', '=', actor.userId).execute()
    await trx.updateTable('workspaceMembers').set({ role: 'owner' }).where('workspaceId', '=', workspaceId).where('userId', '=', newOwnerId).execute()
    return trx.updateTable('workspaces').set({ ownerId: newOwnerId, updatedAt: deps.clock.now(), updatedBy: actor.userId })
      .where('id', '=', workspaceId).returningAll().executeTakeFirstOrThrow()
  })
  await bumpMembers(deps, [actor.userId, newOwnerId])
  return toWorkspaceView(row, 'admin')
}

// ---- Invitations ----

export interface InvitationView {
  id: string
  workspaceId: string
  email: string
  role: 'admin' | 'member'
  invitedBy: string
  status: 'pending' | 'accepted' | 'revoked' | 'expired'
  createdAt: Date
  expiresAt: Date
  acceptedAt: Date | null
  revokedAt: Date | null
}

type InvitationRow = { id: string, workspaceId: string, email: string, role: string, invitedBy: string, createdAt: Date, expiresAt: Date, acceptedAt: Date | null, revokedAt: Date | null }

function invitationView (row: InvitationRow, now: Date): InvitationView {
  const status = row.acceptedAt ? 'accepted' : row.revokedAt ? 'revoked' : row.expiresAt <= now ? 'expired' : 'pending'
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    email: row.email,
    role: row.role as 'admin' | 'member',
    invitedBy: row.invitedBy,
    status,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    acceptedAt: row.acceptedAt,
    revokedAt: row.revokedAt
  }
}

const invitationColumns = ['id', 'workspaceId', 'email', 'role', 'invitedBy', 'createdAt', 'expiresAt', 'acceptedAt', 'revokedAt'] as const

/**
 * Invites an email (admin or member role). The single-use token goes out by email through the
 * outbox, in the same transaction as the invitation: no invitation without its email, no email
 * for an invitation that was not saved. Only the token's keyed hash is stored.
 */
export async function createInvitation (deps: Deps, actor: Principal, workspaceId: string, input: { email: string, role: 'admin' | 'member' }): Promise<InvitationView> {
  const email = input.email.normalize('NFC').trim().toLowerCase()
  const token = deps.random.token(32)
  const now = deps.clock.now()
  const row = await deps.db.transaction().execute(async (trx) => {
    const workspace = await liveWorkspace(trx, workspaceId, 'share')
    const already = await trx.selectFrom('workspaceMembers as m').innerJoin('users as u', 'u.id', 'm.userId')
      .select('u.id').where('m.workspaceId', '=', workspaceId).where('u.email', '=', email).executeTakeFirst()
    if (already) throw new AppError(409, 'ALREADY_MEMBER', `${email} is already a member.`, { errors: [{ pointer: '/body/email', detail: 'is already a member' }] })
    // A new invitation replaces a pending one for the same address.
    await trx.updateTable('workspaceInvitations').set({ revokedAt: now })
      .where('workspaceId', '=', workspaceId).where('email', '=', email).where('acceptedAt', 'is', null).where('revokedAt', 'is', null).execute()
    const inviter = await trx.selectFrom('users').select('name').where('id', '=', actor.userId).executeTakeFirstOrThrow()
    const inserted = await trx.insertInto('workspaceInvitations').values({
      id: deps.random.uuid(),
      workspaceId,
      email,
      role: input.role,
      tokenHash: deps.sealer.secretHash(`invitation:${token}`),
      invitedBy: actor.userId,
      createdAt: now,
      expiresAt: new Date(now.getTime() + INVITATION_TTL_MS)
    }).returning(invitationColumns).executeTakeFirstOrThrow()
    await emailInTransaction(trx, deps.sealer, 'workspace-invitation', email, {
      workspaceName: workspace.name,
      inviterName: inviter.name,
      role: input.role,
      link: `${deps.config.publicUrl}/invitations/accept?token=${encodeURIComponent(token)}`,
      days: INVITATION_TTL_MS / 86_400_000
    })
    return inserted
  })
  return invitationView(row, now)
}

export async function listInvitations (deps: Deps, workspaceId: string): Promise<InvitationView[]> {
  const rows = await deps.db.selectFrom('workspaceInvitations').select(invitationColumns)
    .where('workspaceId', '=', workspaceId).orderBy('createdAt', 'desc').execute()
  const now = deps.clock.now()
  return rows.map((r) => invitationView(r, now))
}

export async function revokeInvitation (deps: Deps, workspaceId: string, invitationId: string): Promise<void> {
  const result = await deps.db.updateTable('workspaceInvitations').set({ revokedAt: deps.clock.now() })
    .where('id', '=', invitationId).where('workspaceId', '=', workspaceId)
    .where('acceptedAt', 'is', null).where('revokedAt', 'is', null)
    .executeTakeFirst()
  if (Number(result.numUpdatedRows) === 0) throw NotFound('invitation')
}

const gone = (code: string, detail: string) => new AppError(410, code, detail)

/** Accepts an invitation as the signed-in user, whose email must be the one invited. Once. */
export async function acceptInvitation (deps: Deps, principal: Principal, token: string): Promise<{ workspace: WorkspaceView, role: WorkspaceRole }> {
  const now = deps.clock.now()
  const result = await deps.db.transaction().execute(async (trx) => {
    const invitation = await trx.selectFrom('workspaceInvitations').selectAll()
      .where('tokenHash', '=', deps.sealer.secretHash(`invitation:${token}`)).forUpdate().executeTakeFirst()
    if (!invitation) throw NotFound('invitation')
    if (invitation.acceptedAt) throw gone('INVITATION_USED', 'This invitation was already accepted.')
    if (invitation.revokedAt) throw gone('INVITATION_REVOKED', 'This invitation was revoked.')
    if (invitation.expiresAt <= now) throw gone('INVITATION_EXPIRED', 'This invitation has expired; ask for a new one.')
    const user = await trx.selectFrom('users').select('email').where('id', '=', principal.userId).executeTakeFirstOrThrow()
    if (user.email !== invitation.email) throw Forbidden('This invitation is for another email address.', 'INVITATION_EMAIL_MISMATCH')
    const workspace = await liveWorkspace(trx, invitation.workspaceId)
    await trx.updateTable('workspaceInvitations').set({ acceptedAt: now, acceptedBy: principal.userId }).where('id', '=', invitation.id).execute()
    const existing = await trx.selectFrom('workspaceMembers').select('role').where('workspaceId', '=', workspace.id).where('userId', '=', principal.userId).executeTakeFirst()
    if (existing) return { workspace, role: existing.role as WorkspaceRole }
    await trx.insertInto('workspaceMembers').values({ workspaceId: workspace.id, userId: principal.userId, role: invitation.role }).execute()
    return { workspace, role: invitation.role as WorkspaceRole }
  })
  await bumpProfileVersion(deps, principal.userId)
  return { workspace: toWorkspaceView(result.workspace, result.role), role: result.role }
}
