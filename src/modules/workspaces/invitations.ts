import type { Deps } from '../../platform/deps.ts'
import { Conflict, Forbidden, Gone, NotFound } from '../../platform/errors.ts'
import { emailInTransaction } from '../../platform/mail.ts'
import type { Principal } from '../../platform/principal.ts'
import { bumpProfileVersion } from '../../platform/profile-version.ts'
import { appLink } from '../../platform/public-url.ts'
import { contactOf, userContacts } from '../users/public.ts'
import { workspaceInvitationEmail } from './emails.ts'
import type { AcceptResponse, AssignableRole, InvitationBody, InvitationView, WorkspaceRole } from './schemas.ts'
import { liveWorkspace, toWorkspaceView } from './workspace.ts'

export const INVITATION_TTL_MS = 7 * 24 * 3600_000

type InvitationRow = { id: string, workspaceId: string, email: string, role: string, invitedBy: string, createdAt: Date, expiresAt: Date, acceptedAt: Date | null, revokedAt: Date | null }

function invitationView (row: InvitationRow, now: Date): InvitationView {
  const status = row.acceptedAt ? 'accepted' : row.revokedAt ? 'revoked' : row.expiresAt <= now ? 'expired' : 'pending'
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    email: row.email,
    role: row.role as AssignableRole,
    invitedBy: row.invitedBy,
    status,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    acceptedAt: row.acceptedAt,
    revokedAt: row.revokedAt
  }
}

const invitationColumns = ['id', 'workspaceId', 'email', 'role', 'invitedBy', 'createdAt', 'expiresAt', 'acceptedAt', 'revokedAt'] as const

const tokenHash = (deps: Deps, token: string) => deps.sealer.secretHash(`invitation:${token}`)

/**
 * Invites an email (admin or member role). The single-use token goes out by email through the
 * outbox, in the same transaction as the invitation: no invitation without its email, no email
 * for an invitation that was not saved. Only the token's keyed hash is stored.
 */
export async function createInvitation (deps: Deps, actor: Principal, workspaceId: string, input: InvitationBody): Promise<InvitationView> {
  const email = input.email.normalize('NFC').trim().toLowerCase()
  const token = deps.random.token(32)
  const now = deps.clock.now()
  const row = await deps.db.transaction().execute(async (trx) => {
    const workspace = await liveWorkspace(trx, workspaceId, 'share')
    const already = await trx.selectFrom('workspaceMembers as m').innerJoin(userContacts(trx).as('u'), 'u.id', 'm.userId')
      .select('u.id').where('m.workspaceId', '=', workspaceId).where('u.email', '=', email).executeTakeFirst()
    if (already) throw Conflict('ALREADY_MEMBER', `${email} is already a member.`, { field: '/body/email', fieldDetail: 'is already a member' })
    // A new invitation replaces a pending one for the same address.
    await trx.updateTable('workspaceInvitations').set({ revokedAt: now })
      .where('workspaceId', '=', workspaceId).where('email', '=', email).where('acceptedAt', 'is', null).where('revokedAt', 'is', null).execute()
    const inviter = await contactOf(trx, actor.userId)
    if (!inviter) throw new Error(`the inviting user ${actor.userId} does not exist`)
    const inserted = await trx.insertInto('workspaceInvitations').values({
      id: deps.random.uuid(),
      workspaceId,
      email,
      role: input.role,
      tokenHash: tokenHash(deps, token),
      invitedBy: actor.userId,
      createdAt: now,
      expiresAt: new Date(now.getTime() + INVITATION_TTL_MS)
    }).returning(invitationColumns).executeTakeFirstOrThrow()
    await emailInTransaction(trx, deps.sealer, workspaceInvitationEmail, email, {
      workspaceName: workspace.name,
      inviterName: inviter.name,
      role: input.role,
      link: appLink(deps.config, `/invitations/accept?token=${encodeURIComponent(token)}`),
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
  if (Number(result.numUpdatedRows) === 0) throw NotFound('NOT_FOUND', 'invitation not found')
}

/** Accepts an invitation as the signed-in user, whose email must be the one invited. Once. */
export async function acceptInvitation (deps: Deps, principal: Principal, token: string): Promise<AcceptResponse> {
  const now = deps.clock.now()
  const result = await deps.db.transaction().execute(async (trx) => {
    const invitation = await trx.selectFrom('workspaceInvitations').selectAll()
      .where('tokenHash', '=', tokenHash(deps, token)).forUpdate().executeTakeFirst()
    if (!invitation) throw NotFound('NOT_FOUND', 'invitation not found')
    if (invitation.acceptedAt) throw Gone('INVITATION_USED', 'This invitation was already accepted.')
    if (invitation.revokedAt) throw Gone('INVITATION_REVOKED', 'This invitation was revoked.')
    if (invitation.expiresAt <= now) throw Gone('INVITATION_EXPIRED', 'This invitation has expired; ask for a new one.')
    const user = await contactOf(trx, principal.userId)
    if (!user) throw new Error(`the signed-in user ${principal.userId} does not exist`)
    if (user.email !== invitation.email) throw Forbidden('INVITATION_EMAIL_MISMATCH', 'This invitation is for another email address.')
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
