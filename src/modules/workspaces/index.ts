import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { withLocation } from '../../platform/docs.ts'
import { BadRequest, problems } from '../../platform/errors.ts'
import { principalOf } from '../../platform/principal.ts'
import { acceptUploads, IMAGE_TYPES, storeUpload, withStoredUploads } from '../../platform/uploads.ts'
import { workspaceOf } from './guard.ts'
import { acceptInvitation, createInvitation, listInvitations, revokeInvitation } from './invitations.ts'
import { changeMemberRole, listMembers, removeMember } from './members.ts'
import { transferOwnership } from './ownership.ts'
import storeRoutes from './store-routes.ts'
import {
  AcceptBody, AcceptResponse, CreateWorkspaceBody, InvitationBody, InvitationList, InvitationParams, InvitationView, LogoResponse, MemberList,
  MemberParams, MemberRoleBody, MemberView, TransferBody, UpdateWorkspaceBody, WorkspaceIdParams, WorkspaceList, WorkspaceRef
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
  // The public store pages, in a scope of their own (cacheable like the catalog).
  await app.register(storeRoutes)

  app.post('/workspaces', {
    config: { auth: 'user' },
    schema: {
      operationId: 'createWorkspace',
      tags,
      summary: 'Create a workspace; the caller becomes its owner',
      description: 'Without a slug one is made from the name (with a suffix when taken); a slug asked for and taken is 409 SLUG_TAKEN.',
      body: CreateWorkspaceBody,
      response: { 201: withLocation(WorkspaceRef), ...problems(409) }
    }
  }, async (request, reply) => {
    const workspace = await createOwnWorkspace(deps, principalOf(request), request.body)
    return reply.code(201).header('location', `/workspaces/${workspace.id}`).send(workspace)
  })

  app.get('/workspaces', {
    config: { auth: 'user' },
    schema: {
      operationId: 'listMyWorkspaces',
      tags,
      summary: 'The workspaces the caller belongs to, with their role',
      description: 'Every live workspace the caller is a member of; role is theirs in it.',
      response: { 200: WorkspaceList }
    }
  }, async (request) => ({ items: await listMyWorkspaces(deps, principalOf(request).userId) }))

  app.get('/workspaces/:id', {
    config: { auth: 'user', workspace: 'workspace:read' },
    schema: {
      operationId: 'getWorkspace',
      tags,
      summary: 'A workspace the caller belongs to',
      description: 'A workspace the caller is not a member of is 404, like one that does not exist.',
      params: WorkspaceIdParams,
      response: { 200: WorkspaceRef }
    }
  }, async (request) => getWorkspace(deps, request.params.id, workspaceOf(request).role))

  // The name, slug and logo show in public answers (GET /stores/:slug, every catalog product's
  // store): these writes drop the API's copy of them (changesCatalog).
  app.patch('/workspaces/:id', {
    config: { auth: 'user', workspace: 'workspace:update', changesCatalog: true },
    schema: {
      operationId: 'updateWorkspace',
      tags,
      summary: 'Rename, re-slug or rebrand (logoUrl, primaryColor, settings)',
      description: 'Fields left out keep their value; settings replaces the whole object. Needs workspace:update (owner or admin). A taken slug is 409 SLUG_TAKEN.',
      params: WorkspaceIdParams,
      body: UpdateWorkspaceBody,
      response: { 200: WorkspaceRef, ...problems(409) }
    }
  }, async (request) => updateWorkspace(deps, principalOf(request), request.params.id, workspaceOf(request).role, request.body))

  app.delete('/workspaces/:id', {
    config: { auth: 'user', workspace: 'workspace:delete', changesCatalog: true },
    schema: {
      operationId: 'deleteWorkspace',
      tags,
      summary: 'Delete the workspace (owner only; soft delete)',
      description: 'Its products leave the catalog and their images are removed; orders keep their records.',
      params: WorkspaceIdParams,
      response: { 204: Type.Null() }
    }
  }, async (request, reply) => {
    await deleteWorkspace(deps, principalOf(request), request.params.id, retireContent)
    return reply.code(204).send(null)
  })

  app.put('/workspaces/:id/logo', {
    config: { auth: 'user', workspace: 'workspace:update', changesCatalog: true },
    schema: {
      operationId: 'uploadWorkspaceLogo',
      tags,
      summary: 'Upload the logo (multipart field "logo": PNG, JPEG or WebP, judged by content)',
      description: 'Replaces the current logo (its file is removed) and answers with the new public URL. Another type is 415, a file over the size limit 413.',
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
      operationId: 'transferWorkspaceOwnership',
      tags,
      summary: 'Hand the workspace to another member (owner only, recent sign-in); you become admin',
      description: 'The new owner must already be a member (404 otherwise); transferring to yourself is 409 ALREADY_OWNER.',
      params: WorkspaceIdParams,
      body: TransferBody,
      response: { 200: WorkspaceRef, ...problems(409) }
    }
  }, async (request) => transferOwnership(deps, principalOf(request), request.params.id, request.body.userId, syncListing))

  app.get('/workspaces/:id/members', {
    config: { auth: 'user', workspace: 'members:read' },
    schema: {
      operationId: 'listWorkspaceMembers',
      tags,
      summary: 'Members and their roles',
      description: 'Every member with their name, email, role and when they joined.',
      params: WorkspaceIdParams,
      response: { 200: MemberList }
    }
  }, async (request) => ({ items: await listMembers(deps, request.params.id) }))

  app.patch('/workspaces/:id/members/:userId', {
    config: { auth: 'user', workspace: 'members:manage' },
    schema: {
      operationId: 'changeMemberRole',
      tags,
      summary: 'Change a member\'s role (admin or member; recent sign-in needed)',
      description: 'The owner\'s role cannot change here (409): ownership moves only by transfer.',
      params: MemberParams,
      body: MemberRoleBody,
      response: { 200: MemberView, ...problems(409) }
    }
  }, async (request) => changeMemberRole(deps, principalOf(request), request.params.id, request.params.userId, request.body.role))

  app.delete('/workspaces/:id/members/:userId', {
    config: { auth: 'user', workspace: 'workspace:read' },
    schema: {
      operationId: 'removeWorkspaceMember',
      tags,
      summary: 'Remove a member (members:manage), or leave (your own id); the owner stays',
      description: 'Any member may leave; removing someone else needs members:manage (403 otherwise). The owner cannot be removed or leave (409): transfer the workspace first.',
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
      operationId: 'inviteWorkspaceMember',
      tags,
      summary: 'Invite someone by email; a single-use link valid 7 days is emailed',
      description: 'A new invitation to the same address replaces a pending one. An address that is already a member is 409 ALREADY_MEMBER.',
      params: WorkspaceIdParams,
      body: InvitationBody,
      response: { 201: InvitationView, ...problems(409) }
    }
  }, async (request, reply) => reply.code(201).send(await createInvitation(deps, principalOf(request), request.params.id, request.body)))

  app.get('/workspaces/:id/invitations', {
    config: { auth: 'user', workspace: 'members:manage' },
    schema: {
      operationId: 'listWorkspaceInvitations',
      tags,
      summary: 'Invitations, newest first, with their status',
      description: 'Pending, accepted, revoked and expired invitations alike; the tokens are never shown.',
      params: WorkspaceIdParams,
      response: { 200: InvitationList }
    }
  }, async (request) => ({ items: await listInvitations(deps, request.params.id) }))

  app.delete('/workspaces/:id/invitations/:invitationId', {
    config: { auth: 'user', workspace: 'members:manage' },
    schema: {
      operationId: 'revokeInvitation',
      tags,
      summary: 'Revoke a pending invitation',
      description: 'Its link stops working (410 INVITATION_REVOKED on accept). An accepted or already revoked invitation is 404.',
      params: InvitationParams,
      response: { 204: Type.Null(), ...problems(404) }
    }
  }, async (request, reply) => {
    await revokeInvitation(deps, request.params.id, request.params.invitationId)
    return reply.code(204).send(null)
  })

  app.post('/invitations/accept', {
    config: { auth: 'user' },
    schema: {
      operationId: 'acceptInvitation',
      tags,
      summary: 'Accept an invitation as the signed-in user (the invited email)',
      description: 'The caller\'s email must be the invited one (403 INVITATION_EMAIL_MISMATCH). A used, revoked or expired invitation is 410.',
      body: AcceptBody,
      response: { 200: AcceptResponse, ...problems(404, 410) }
    }
  }, async (request) => acceptInvitation(deps, principalOf(request), request.body.token))
}

export default workspaces
