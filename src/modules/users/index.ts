import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { Conflict, NotFound, problems } from '../../platform/errors.ts'
import { Page } from '../../platform/pagination.ts'
import { principalOf } from '../../platform/principal.ts'
import { ProfileViewCache } from '../../platform/profile-version.ts'
import {
  AddressBody, AddressParams, AddressPatch, AddressView, AdminCreateUserBody, AdminUserPatch, EmailVerifyBody, MePatchBody,
  MePatchResponse, StatusBody, UserIdParams, UserSearchQuery, UserView
} from './schemas.ts'
import { findUserById, toUserView } from './accounts.ts'
import { addAddress, deleteAddress, listAddresses, updateAddress } from './addresses.ts'
import { adminCreateUser, searchUsers, setUserStatus, softDeleteUser, type ListingSync } from './admin.ts'
import { confirmEmailChange, startEmailChange } from './email-change.ts'
import { ownProfileJson, updateProfile } from './profile.ts'

const tags = ['users']
const UserRef = Type.Ref(UserView)
const AddressRef = Type.Ref(AddressView)

export interface UsersOptions {
  /** Relists a vendor's products when their status changes (products' syncListing). */
  syncListing: ListingSync
}

const users: FastifyPluginAsyncTypebox<UsersOptions> = async (app, { syncListing }) => {
  const { deps } = app

  // Views of the callers' own profiles, kept against their profile versions (see ownProfileJson).
  const ownViews = new ProfileViewCache<string>({ limit: 10_000, maxAgeMs: 60_000 })
  app.get('/users/me', {
    config: { auth: 'user' },
    schema: { tags, summary: 'The signed-in user', response: { 200: UserRef } }
  }, async (request, reply) => {
    const json = await ownProfileJson(deps, ownViews, principalOf(request), (view) => reply.serialize(view) as string)
    // Already written by this route's serializer: sent as it is.
    return reply.type('application/json; charset=utf-8').send(json as never)
  })

  app.patch('/users/me', {
    config: { auth: 'user' },
    schema: {
      tags,
      summary: 'Update your profile; an email change sends a code to the new address',
      description: 'Only name, phone, postCode, country, city and email can change here; anything else is refused (400). An email change needs a sign-in within 10 minutes and takes effect at POST /users/me/email/verify.',
      body: MePatchBody,
      response: { 200: MePatchResponse }
    }
  }, async (request) => {
    const principal = principalOf(request)
    const { email, ...profile } = request.body
    const pending = email !== undefined ? await startEmailChange(deps, principal, email) : undefined
    const user = Object.keys(profile).length > 0
      ? await updateProfile(deps, principal.userId, principal.userId, profile)
      : toUserView((await findUserById(deps.db, principal.userId))!)
    return { user, ...(pending ? { pendingEmail: { email: pending.pendingEmail, expiresAt: pending.expiresAt } } : {}) }
  })

  app.post('/users/me/email/verify', {
    config: { auth: 'user' },
    schema: { tags, summary: 'Confirm an email change with the code sent to the new address', body: EmailVerifyBody, response: { 200: UserRef, ...problems(409) } }
  }, async (request) => confirmEmailChange(deps, principalOf(request), request.body.code))

  app.get('/users/me/addresses', {
    config: { auth: 'user' },
    schema: { tags, summary: 'Your addresses, the default first', response: { 200: Type.Object({ items: Type.Array(AddressRef) }) } }
  }, async (request) => ({ items: await listAddresses(deps.db, principalOf(request).userId) }))

  app.post('/users/me/addresses', {
    config: { auth: 'user' },
    schema: { tags, summary: 'Add an address (the first one becomes the default)', body: AddressBody, response: { 201: AddressRef } }
  }, async (request, reply) => reply.code(201).send(await addAddress(deps, principalOf(request).userId, request.body)))

  app.patch('/users/me/addresses/:id', {
    config: { auth: 'user' },
    schema: { tags, summary: 'Change an address or make it the default', params: AddressParams, body: AddressPatch, response: { 200: AddressRef, ...problems(404) } }
  }, async (request) => updateAddress(deps, principalOf(request).userId, request.params.id, request.body))

  app.delete('/users/me/addresses/:id', {
    config: { auth: 'user' },
    schema: { tags, summary: 'Delete an address', params: AddressParams, response: { 204: Type.Null(), ...problems(404) } }
  }, async (request, reply) => {
    await deleteAddress(deps, principalOf(request).userId, request.params.id)
    return reply.code(204).send(null)
  })

  app.get('/users', {
    config: { auth: 'admin' },
    schema: { tags: ['admin'], summary: 'Search users by part of a name or email, with filters (platform admins)', querystring: UserSearchQuery, response: { 200: Page(UserRef) } }
  }, async (request) => searchUsers(deps, request.query))

  app.get('/users/:id', {
    config: { auth: 'admin' },
    schema: { tags: ['admin'], summary: 'A user (platform admins)', params: UserIdParams, response: { 200: UserRef, ...problems(404) } }
  }, async (request) => {
    const user = await findUserById(deps.db, request.params.id)
    if (!user) throw NotFound('NOT_FOUND', 'user not found')
    return toUserView(user)
  })

  app.post('/users', {
    config: { auth: 'admin' },
    schema: { tags: ['admin'], summary: 'Create a user (platform admins)', body: AdminCreateUserBody, response: { 201: UserRef, ...problems(409) } }
  }, async (request, reply) => {
    const { status, ...rest } = request.body
    return reply.code(201).send(await adminCreateUser(deps, principalOf(request).userId, { ...rest, status: status ?? 'active' }))
  })

  app.patch('/users/:id', {
    config: { auth: 'admin' },
    schema: { tags: ['admin'], summary: 'Update a user\'s profile or type (platform admins)', params: UserIdParams, body: AdminUserPatch, response: { 200: UserRef, ...problems(404) } }
  }, async (request) => updateProfile(deps, principalOf(request).userId, request.params.id, request.body))

  app.patch('/users/:id/status', {
    config: { auth: 'admin', changesCatalog: true },
    schema: {
      tags: ['admin'],
      summary: 'Set a user\'s status; suspending or deactivating ends all their sessions at once (platform admins)',
      params: UserIdParams,
      body: StatusBody,
      response: { 200: UserRef, ...problems(404, 409) }
    }
  }, async (request) => {
    const actor = principalOf(request)
    if (request.params.id === actor.userId) throw Conflict('CANNOT_CHANGE_SELF', 'Admins cannot change their own status.')
    const row = await setUserStatus(deps, actor.userId, request.params.id, request.body.status, syncListing)
    if (!row) throw NotFound('NOT_FOUND', 'user not found')
    return toUserView(row)
  })

  app.delete('/users/:id', {
    config: { auth: 'admin', changesCatalog: true },
    schema: { tags: ['admin'], summary: 'Delete a user (soft; their sessions end) (platform admins)', params: UserIdParams, response: { 204: Type.Null(), ...problems(404, 409) } }
  }, async (request, reply) => {
    const actor = principalOf(request)
    if (request.params.id === actor.userId) throw Conflict('CANNOT_CHANGE_SELF', 'Admins cannot delete themselves.')
    await softDeleteUser(deps, actor.userId, request.params.id, syncListing)
    return reply.code(204).send(null)
  })
}

export default users
