import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { BadRequest, problems } from '../../platform/errors.ts'
import { principalOf } from '../../platform/principal.ts'
import { acceptUploads, IMAGE_TYPES, storeUpload, withStoredUploads } from '../../platform/uploads.ts'
import { workspaceOf } from './guard.ts'
import { acceptInvitation, createInvitation, listInvitations, revokeInvitation } from './invitations.ts'
import { changeMemberRole, listMembers, removeMember } from './members.ts'
import { transferOwnership } from './ownership.ts'
import {
  AcceptBody, AcceptResponse, CreateWorkspaceBody, InvitationBody, InvitationParams, InvitationView, LogoResponse, MemberParams,
  MemberRoleBody, MemberView, TransferBody, UpdateWorkspaceBody, WorkspaceIdParams, WorkspaceRef
} from './schemas.ts'
import {
  createOwnWorkspace, deleteWorkspace, getWorkspace, listMyWorkspaces, setWorkspaceLogo, updateWorkspace, type ContentRetirer, type ListingSync
} from './workspace.ts'

const tags = ['workspaces']

export interface WorkspacesOptions {
  /** What other modules keep under a workspace, retired with it (products' retireWorkspaceProducts). */
  retireContent: ContentRetirer[]
  /** Relists a workspace's products when its owner changes (products' syncListing). */
  syncListing: ListingSync
}

const workspaces: FastifyPluginAsyncTypebox<WorkspacesOptions> = async (app, { retireContent, syncListing }) => {
  const { deps } = app
  await acceptUploads(app)

  app.post('/workspaces', {
    config: { auth: 'user' },
    schema: { tags, summary: 'Create a workspace; the caller becomes its owner', body: CreateWorkspaceBody, response: { 201: WorkspaceRef, ...problems(409) } }
  }, async (request, reply) => reply.code(201).send(await createOwnWorkspace(deps, principalOf(request), request.body)))

  app.get('/workspaces', {
    config: { auth: 'user' },
    schema: { tags, summary: 'The workspaces the caller belongs to, with their role', response: { 200: Type.Object({ items: Type.Array(WorkspaceRef) }) } }
  }, async (request) => ({ items: await listMyWorkspaces(deps, principalOf(request).userId) }))

  app.get('/workspaces/:id', {
    config: { auth: 'user', workspace: 'workspace:read' },
    schema: { tags, summary: 'A workspace the caller belongs to', params: WorkspaceIdParams, response: { 200: WorkspaceRef } }
  }, async (request) => getWorkspace(deps, request.params.id, workspaceOf(request).role))

  app.patch('/workspaces/:id', {
    config: { auth: 'user', workspace: 'workspace:update' },
    schema: {
      tags,
      summary: 'Rename, re-slug or rebrand (logoUrl, primaryColor, settings)',
      params: WorkspaceIdParams,
      body: UpdateWorkspaceBody,
      response: { 200: WorkspaceRef, ...problems(409) }
    }
  }, async (request) => updateWorkspace(deps, principalOf(request), request.params.id, workspaceOf(request).role, request.body))

  app.delete('/workspaces/:id', {
    config: { auth: 'user', workspace: 'workspace:delete', changesCatalog: true },
    schema: { tags, summary: 'Delete the workspace (owner only; soft delete)', params: WorkspaceIdParams, response: { 204: Type.Null() } }
  }, async (request, reply) => {
    await deleteWorkspace(deps, principalOf(request), request.params.id, retireContent)
    return reply.code(204).send(null)
  })

  app.put('/workspaces/:id/logo', {
    config: { auth: 'user', workspace: 'workspace:update' },
    schema: {
      tags,
      summary: 'Upload the logo (multipart field "logo": PNG, JPEG or WebP, judged by content)',
      consumes: ['multipart/form-data'],
      params: WorkspaceIdParams,
      response: { 200: LogoResponse, ...problems(413, 415) }
    }
  }, async (request) => {
    const part = await request.file()
    if (!part || part.fieldname !== 'logo') throw BadRequest('VALIDATION_FAILED', 'Send the image in a multipart field named "logo".', { field: '/body/logo', fieldDetail: 'is required' })
    return withStoredUploads(app, async (stored) => {
      const logo = await storeUpload(app.storage, part, { accept: IMAGE_TYPES, visibility: 'public', maxBytes: app.config.uploadMaxBytes })
      stored.push(logo)
      return setWorkspaceLogo(deps, principalOf(request), request.params.id, logo)
    })
  })

  app.post('/workspaces/:id/transfer-ownership', {
    config: { auth: 'user', workspace: 'workspace:transfer', changesCatalog: true },
    schema: {
      tags,
      summary: 'Hand the workspace to another member (owner only, recent sign-in); you become admin',
      params: WorkspaceIdParams,
      body: TransferBody,
      response: { 200: WorkspaceRef, ...problems(409) }
    }
  }, async (request) => transferOwnership(deps, principalOf(request), request.params.id, request.body.userId, syncListing))

  app.get('/workspaces/:id/members', {
    config: { auth: 'user', workspace: 'members:read' },
    schema: { tags, summary: 'Members and their roles', params: WorkspaceIdParams, response: { 200: Type.Object({ items: Type.Array(MemberView) }) } }
  }, async (request) => ({ items: await listMembers(deps, request.params.id) }))

  app.patch('/workspaces/:id/members/:userId', {
    config: { auth: 'user', workspace: 'members:manage' },
    schema: {
      tags,
      summary: 'Change a member\'s role (admin or member; recent sign-in needed)',
      params: MemberParams,
      body: MemberRoleBody,
      response: { 200: MemberView, ...problems(409) }
    }
  }, async (request) => changeMemberRole(deps, principalOf(request), request.params.id, request.params.userId, request.body.role))

  app.delete('/workspaces/:id/members/:userId', {
    config: { auth: 'user', workspace: 'workspace:read' },
    schema: {
      tags,
      summary: 'Remove a member (members:manage), or leave (your own id); the owner stays',
      params: MemberParams,
      response: { 204: Type.Null(), ...problems(409) }
    }
  }, async (request, reply) => {
    await removeMember(deps, principalOf(request), workspaceOf(request).role, request.params.id, request.params.userId)
    return reply.code(204).send(null)
  })

  app.post('/workspaces/:id/invitations', {
    config: { auth: 'user', workspace: 'members:manage' },
    schema: {
      tags,
      summary: 'Invite someone by email; a single-use link valid 7 days is emailed',
      params: WorkspaceIdParams,
      body: InvitationBody,
      response: { 201: InvitationView, ...problems(409) }
    }
  }, async (request, reply) => reply.code(201).send(await createInvitation(deps, principalOf(request), request.params.id, request.body)))

  app.get('/workspaces/:id/invitations', {
    config: { auth: 'user', workspace: 'members:manage' },
    schema: { tags, summary: 'Invitations, newest first, with their status', params: WorkspaceIdParams, response: { 200: Type.Object({ items: Type.Array(InvitationView) }) } }
  }, async (request) => ({ items: await listInvitations(deps, request.params.id) }))

  app.delete('/workspaces/:id/invitations/:invitationId', {
    config: { auth: 'user', workspace: 'members:manage' },
    schema: { tags, summary: 'Revoke a pending invitation', params: InvitationParams, response: { 204: Type.Null() } }
  }, async (request, reply) => {
    await revokeInvitation(deps, request.params.id, request.params.invitationId)
    return reply.code(204).send(null)
  })

  app.post('/invitations/accept', {
    config: { auth: 'user' },
    schema: {
      tags,
      summary: 'Accept an invitation as the signed-in user (the invited email)',
      body: AcceptBody,
      response: { 200: AcceptResponse, ...problems(404, 410) }
    }
  }, async (request) => acceptInvitation(deps, principalOf(request), request.body.token))
}

export default workspaces
