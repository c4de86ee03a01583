import { Type, type Static } from '@sinclair/typebox'
import { FreeFormObject, Nullable, Text, Timestamp } from '../../platform/schema-types.ts'

const strict = { additionalProperties: false } as const
const Uuid = Type.String({ format: 'uuid' })
export const Role = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')])
export const AssignableRole = Type.Union([Type.Literal('admin'), Type.Literal('member')], { description: 'owner changes hands only by POST /workspaces/:id/transfer-ownership' })

export const Slug = Type.String({ pattern: '^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$', description: 'lower-case letters, digits and dashes', examples: ['hopper-computing'] })
const Color = Type.String({ pattern: '^#[0-9a-fA-F]{6}$', examples: ['#1f6feb'] })
/** Free-form, but bounded: stored as jsonb and returned with every workspace. */
export const SETTINGS_LIMITS = { maxBytes: 16_384, maxDepth: 8 }
const Settings = FreeFormObject(SETTINGS_LIMITS, { maxProperties: 50, description: `free-form branding and store settings: at most ${SETTINGS_LIMITS.maxBytes} bytes as JSON, ${SETTINGS_LIMITS.maxDepth} levels deep, no NUL` })

export const WorkspaceIdParams = Type.Object({ id: Uuid })
export const MemberParams = Type.Object({ id: Uuid, userId: Uuid })
export const InvitationParams = Type.Object({ id: Uuid, invitationId: Uuid })

export const WorkspaceView = Type.Object({
  id: Uuid,
  name: Type.String(),
  slug: Type.String(),
  ownerId: Uuid,
  logoUrl: Nullable(Type.String()),
  primaryColor: Nullable(Type.String()),
  settings: Type.Record(Type.String(), Type.Unknown()),
  role: Type.Optional(Role),
  createdAt: Timestamp(),
  updatedAt: Timestamp(),
  createdBy: Nullable(Uuid),
  updatedBy: Nullable(Uuid)
}, {
  $id: 'WorkspaceView',
  examples: [{ id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f', name: 'Hopper Computing', slug: 'hopper-computing', ownerId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80', logoUrl: null, primaryColor: '#1f6feb', settings: {}, role: 'owner', createdAt: '2026-11-21T10:00:00.000Z', updatedAt: '2026-11-21T10:00:00.000Z', createdBy: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80', updatedBy: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80' }]
})
export const WorkspaceRef = Type.Ref('WorkspaceView')

export const CreateWorkspaceBody = Type.Object({
  name: Text({ minLength: 1, maxLength: 120 }),
  slug: Type.Optional(Slug)
}, { ...strict, examples: [{ name: 'Hopper Computing', slug: 'hopper-computing' }] })

export const UpdateWorkspaceBody = Type.Object({
  name: Type.Optional(Text({ minLength: 1, maxLength: 120 })),
  slug: Type.Optional(Slug),
  logoUrl: Type.Optional(Nullable(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 }))),
  primaryColor: Type.Optional(Nullable(Color)),
  settings: Type.Optional(Settings)
}, { ...strict, minProperties: 1, examples: [{ name: 'Hopper Computing Ltd', primaryColor: '#1f6feb' }] })
export type UpdateWorkspaceBody = Static<typeof UpdateWorkspaceBody>

export const LogoResponse = Type.Object({ logoUrl: Type.String() }, { examples: [{ logoUrl: 'http://localhost:3000/files/01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f.png' }] })

export const MemberView = Type.Object({
  userId: Uuid,
  name: Type.String(),
  email: Type.String(),
  role: Role,
  joinedAt: Timestamp()
})

export const MemberRoleBody = Type.Object({ role: AssignableRole }, { ...strict, examples: [{ role: 'admin' }] })
export const TransferBody = Type.Object({ userId: Uuid }, { ...strict, description: 'a current member, who becomes owner; you become admin' })

export const InvitationView = Type.Object({
  id: Uuid,
  workspaceId: Uuid,
  email: Type.String(),
  role: AssignableRole,
  invitedBy: Uuid,
  status: Type.Union([Type.Literal('pending'), Type.Literal('accepted'), Type.Literal('revoked'), Type.Literal('expired')]),
  createdAt: Timestamp(),
  expiresAt: Timestamp(),
  acceptedAt: Type.Union([Timestamp(), Type.Null()]),
  revokedAt: Type.Union([Timestamp(), Type.Null()])
})

export const InvitationBody = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
  role: AssignableRole
}, { ...strict, examples: [{ email: 'colleague@example.com', role: 'member' }] })

export const AcceptBody = Type.Object({ token: Text({ minLength: 20, maxLength: 200 }) }, strict)
export const AcceptResponse = Type.Object({ workspace: WorkspaceRef, role: Role })
