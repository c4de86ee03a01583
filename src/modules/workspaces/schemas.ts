import { Type, type Static } from '@sinclair/typebox'
import { FreeFormObject, Nullable, NullableTimestamp, Strict, Text, Timestamp, Uuid } from '../../platform/schema-types.ts'

export const AssignableRole = Type.Union([Type.Literal('admin'), Type.Literal('member')], { description: 'owner changes hands only by POST /workspaces/:id/transfer-ownership' })
export type AssignableRole = Static<typeof AssignableRole>
export const WorkspaceRole = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')])
export type WorkspaceRole = Static<typeof WorkspaceRole>
export const InvitationStatus = Type.Union([Type.Literal('pending'), Type.Literal('accepted'), Type.Literal('revoked'), Type.Literal('expired')])
export type InvitationStatus = Static<typeof InvitationStatus>

export const Slug = Type.String({ pattern: '^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$', description: 'lower-case letters, digits and dashes', examples: ['hopper-computing'] })
const Color = Type.String({ pattern: '^#[0-9a-fA-F]{6}$', examples: ['#1f6feb'] })
/** Free-form, but bounded: stored as jsonb and returned with every workspace. */
export const SETTINGS_LIMITS = { maxBytes: 16_384, maxDepth: 8 }
const Settings = FreeFormObject(SETTINGS_LIMITS, { maxProperties: 50, description: `free-form branding and store settings: at most ${SETTINGS_LIMITS.maxBytes} bytes as JSON, ${SETTINGS_LIMITS.maxDepth} levels deep, no NUL` })

export const WorkspaceIdParams = Type.Object({ id: Uuid() })
export const MemberParams = Type.Object({ id: Uuid(), userId: Uuid() })
export const InvitationParams = Type.Object({ id: Uuid(), invitationId: Uuid() })

export const WorkspaceView = Type.Object({
  id: Uuid(),
  name: Type.String(),
  slug: Type.String(),
  ownerId: Uuid(),
  logoUrl: Nullable(Type.String()),
  primaryColor: Nullable(Type.String()),
  settings: Type.Record(Type.String(), Type.Unknown()),
  /** The caller's role, where the view is for a member. */
  role: Type.Optional(WorkspaceRole),
  createdAt: Timestamp(),
  updatedAt: Timestamp(),
  createdBy: Nullable(Uuid()),
  updatedBy: Nullable(Uuid())
}, {
  $id: 'WorkspaceView',
  examples: [{ id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f', name: 'Hopper Computing', slug: 'hopper-computing', ownerId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80', logoUrl: null, primaryColor: '#1f6feb', settings: {}, role: 'owner', createdAt: '2026-11-21T10:00:00.000Z', updatedAt: '2026-11-21T10:00:00.000Z', createdBy: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80', updatedBy: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80' }]
})
export type WorkspaceView = Static<typeof WorkspaceView>
export const WorkspaceRef = Type.Ref(WorkspaceView)
export const WorkspaceList = Type.Object({ items: Type.Array(WorkspaceRef) }, { examples: [{ items: WorkspaceView.examples }] })

export const CreateWorkspaceBody = Strict({
  name: Text({ minLength: 1, maxLength: 120 }),
  slug: Type.Optional(Slug)
}, { examples: [{ name: 'Hopper Computing', slug: 'hopper-computing' }] })
export type CreateWorkspaceBody = Static<typeof CreateWorkspaceBody>

export const UpdateWorkspaceBody = Strict({
  name: Type.Optional(Text({ minLength: 1, maxLength: 120 })),
  slug: Type.Optional(Slug),
  logoUrl: Type.Optional(Nullable(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 }))),
  primaryColor: Type.Optional(Nullable(Color)),
  settings: Type.Optional(Settings)
}, { minProperties: 1, examples: [{ name: 'Hopper Computing Ltd', primaryColor: '#1f6feb' }] })
export type UpdateWorkspaceBody = Static<typeof UpdateWorkspaceBody>

export const LogoResponse = Type.Object({ logoUrl: Type.String() }, { examples: [{ logoUrl: 'http://localhost:3000/files/01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f.png' }] })
export type LogoResponse = Static<typeof LogoResponse>

export const MemberView = Type.Object({
  userId: Uuid(),
  name: Type.String(),
  email: Type.String(),
  role: WorkspaceRole,
  joinedAt: Timestamp()
}, { examples: [{ userId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80', name: 'Grace Hopper', email: 'grace@example.com', role: 'owner', joinedAt: '2026-11-21T10:00:00.000Z' }] })
export type MemberView = Static<typeof MemberView>
export const MemberList = Type.Object({ items: Type.Array(MemberView) }, { examples: [{ items: MemberView.examples }] })

export const MemberRoleBody = Strict({ role: AssignableRole }, { examples: [{ role: 'admin' }] })
export const TransferBody = Strict({ userId: Uuid() }, { description: 'a current member, who becomes owner; you become admin', examples: [{ userId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e71' }] })

export const InvitationView = Type.Object({
  id: Uuid(),
  workspaceId: Uuid(),
  email: Type.String(),
  role: AssignableRole,
  invitedBy: Uuid(),
  status: InvitationStatus,
  createdAt: Timestamp(),
  expiresAt: Timestamp(),
  acceptedAt: NullableTimestamp(),
  revokedAt: NullableTimestamp()
}, {
  examples: [{
    id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9ed0',
    workspaceId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f',
    email: 'colleague@example.com',
    role: 'member',
    invitedBy: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80',
    status: 'pending',
    createdAt: '2026-11-21T10:00:00.000Z',
    expiresAt: '2026-11-28T10:00:00.000Z',
    acceptedAt: null,
    revokedAt: null
  }]
})
export type InvitationView = Static<typeof InvitationView>
export const InvitationList = Type.Object({ items: Type.Array(InvitationView) }, { examples: [{ items: InvitationView.examples }] })

export const InvitationBody = Strict({
  email: Type.String({ format: 'email', maxLength: 254 }),
  role: AssignableRole
}, { examples: [{ email: 'colleague@example.com', role: 'member' }] })
export type InvitationBody = Static<typeof InvitationBody>

export const AcceptBody = Strict({ token: Text({ minLength: 20, maxLength: 200, description: 'the token from the emailed invitation link' }) }, { examples: [{ token: 'Zr2VbX7cTn1pLw8yHs4dJe6uAomF3kq9' }] })
export const AcceptResponse = Type.Object({ workspace: WorkspaceRef, role: WorkspaceRole }, { examples: [{ workspace: { ...WorkspaceView.examples[0], role: 'member' }, role: 'member' }] })
export type AcceptResponse = Static<typeof AcceptResponse>

const storeExample = { id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f', name: 'Hopper Computing', slug: 'hopper-computing', logoUrl: 'http://localhost:3000/files/01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e90.png' }
/** The store a public product comes from: what a product page shows of it. */
export const StoreCard = Type.Object({
  id: Uuid(),
  name: Type.String(),
  slug: Type.String(),
  logoUrl: Nullable(Type.String())
}, { description: 'the store (workspace) selling it', examples: [storeExample] })
export type StoreCard = Static<typeof StoreCard>

/** A store's public page: its branding only (never its settings, members or owner). */
export const StoreView = Type.Object({
  id: Uuid(),
  name: Type.String(),
  slug: Type.String(),
  logoUrl: Nullable(Type.String()),
  primaryColor: Nullable(Type.String({ description: '#rrggbb' })),
  since: Timestamp({ description: 'when the store was opened (the workspace was created)' })
}, { examples: [{ ...storeExample, primaryColor: '#1f6feb', since: '2026-11-21T10:00:00.000Z' }] })
export type StoreView = Static<typeof StoreView>

/** A slug as the public path may carry it: shape-checked, so a hostile one is 400 before any SQL. */
export const StoreParams = Type.Object({ slug: Slug })
