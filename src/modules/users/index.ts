import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { withLocation } from '../../platform/docs.ts'
import { Conflict, NotFound, problems } from '../../platform/errors.ts'
import { principalOf } from '../../platform/principal.ts'
import { ProfileViewCache } from '../../platform/profile-version.ts'
import {
  AddressBody, AddressList, AddressParams, AddressPatch, AddressRef, AdminCreateUserBody, AdminUserPatch, EmailVerifyBody, MePatchBody,
  MePatchResponse, PendingPhone, PhoneBody, PhoneCodeBody, StatusBody, UserIdParams, UserPage, UserRef, UserSearchQuery
} from './schemas.ts'
import { findUserById, toUserView } from './accounts.ts'
import { addAddress, deleteAddress, listAddresses, updateAddress } from './addresses.ts'
import { adminCreateUser, searchUsers, setUserStatus, softDeleteUser, type ListingSync } from './admin.ts'
import { confirmEmailChange, startEmailChange } from './email-change.ts'
import { confirmPhoneVerification, startPhoneVerification } from './phone.ts'
import { ownProfileJson, updateProfile } from './profile.ts'

const tags = ['users']

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
    schema: {
      operationId: 'getMyProfile',
      tags,
      summary: 'The signed-in user',
      description: 'Your own account: contact details, type, status and whether a password is set (never the password).',
      response: { 200: UserRef }
    }
  }, async (request, reply) => {
    const json = await ownProfileJson(deps, ownViews, principalOf(request), (view) => reply.serialize(view) as string)
    // Already written by this route's serializer: sent as it is.
    return reply.type('application/json; charset=utf-8').send(json as never)
  })

  app.patch('/users/me', {
    config: { auth: 'user' },
    schema: {
      operationId: 'updateMyProfile',
      tags,
      summary: 'Update your profile; an email change sends a code to the new address',
      description: 'Only name, phone, postCode, country, city and email can change here; anything else is refused (400). A new phone number is unverified (phoneVerifiedAt null) until POST /users/me/phone proves it. An email change needs a sign-in within 10 minutes and takes effect at POST /users/me/email/verify.',
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
    schema: {
      operationId: 'confirmEmailChange',
      tags,
      summary: 'Confirm an email change with the code sent to the new address',
      description: 'A wrong or expired code is 400 INVALID_CODE. 409 EMAIL_TAKEN when the address came to belong to another account meanwhile.',
      body: EmailVerifyBody,
      response: { 200: UserRef, ...problems(409) }
    }
  }, async (request) => confirmEmailChange(deps, principalOf(request), request.body.code))

  app.post('/users/me/phone', {
    config: { auth: 'user', rateLimit: { max: app.config.authRateLimitMax, timeWindow: 60_000 } },
    schema: {
      operationId: 'startPhoneVerification',
      tags,
      summary: 'Add or replace your phone: a 6-digit code is sent to it by SMS',
      description: 'The phone is E.164 (+ and digits, a number valid for its country; 400 naming body/phone otherwise). Needs a sign-in within 10 minutes. The code is valid 10 minutes, 5 tries; five starts per account and per number an hour, and twenty texts an hour per client however asked for (429). The phone changes only at POST /users/me/phone/verify. 422 CHANNEL_UNAVAILABLE when no SMS provider is configured.',
      body: PhoneBody,
      response: { 202: PendingPhone, ...problems(422, 429) }
    }
  }, async (request, reply) => reply.code(202).send(await startPhoneVerification(deps, principalOf(request), request.body.phone, request.ip)))

  app.post('/users/me/phone/verify', {
    config: { auth: 'user', rateLimit: { max: app.config.authRateLimitMax, timeWindow: 60_000 } },
    schema: {
      operationId: 'confirmPhoneVerification',
      tags,
      summary: 'Confirm your phone with the code sent by SMS: it becomes your verified phone',
      description: 'Sets phone and phoneVerifiedAt; a verified phone can then receive sign-in codes (POST /auth/otp/send { phone }). Another account that had verified the same number no longer receives codes on it. The account\'s email is told a phone was added. A wrong or expired code is 400 INVALID_CODE.',
      body: PhoneCodeBody,
      response: { 200: UserRef }
    }
  }, async (request) => confirmPhoneVerification(deps, principalOf(request), request.body.code))

  app.get('/users/me/addresses', {
    config: { auth: 'user' },
    schema: {
      operationId: 'listMyAddresses',
      tags,
      summary: 'Your addresses, the default first',
      description: 'The default address first, then the others oldest first. Checkout takes one of them by id.',
      response: { 200: AddressList }
    }
  }, async (request) => ({ items: await listAddresses(deps.db, principalOf(request).userId) }))

  app.post('/users/me/addresses', {
    config: { auth: 'user' },
    schema: {
      operationId: 'addMyAddress',
      tags,
      summary: 'Add an address (the first one becomes the default)',
      description: 'isDefault: true takes the default mark from the current default address.',
      body: AddressBody,
      response: { 201: AddressRef }
    }
  }, async (request, reply) => reply.code(201).send(await addAddress(deps, principalOf(request).userId, request.body)))

  app.patch('/users/me/addresses/:id', {
    config: { auth: 'user' },
    schema: {
      operationId: 'updateMyAddress',
      tags,
      summary: 'Change an address or make it the default',
      description: 'Fields left out keep their value. Another user\'s address is 404.',
      params: AddressParams,
      body: AddressPatch,
      response: { 200: AddressRef, ...problems(404) }
    }
  }, async (request) => updateAddress(deps, principalOf(request).userId, request.params.id, request.body))

  app.delete('/users/me/addresses/:id', {
    config: { auth: 'user' },
    schema: {
      operationId: 'deleteMyAddress',
      tags,
      summary: 'Delete an address',
      description: 'When the default address is deleted, the oldest remaining one becomes the default. Orders keep their own copy of the address.',
      params: AddressParams,
      response: { 204: Type.Null(), ...problems(404) }
    }
  }, async (request, reply) => {
    await deleteAddress(deps, principalOf(request).userId, request.params.id)
    return reply.code(204).send(null)
  })

  app.get('/users', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'searchUsers',
      tags: ['admin'],
      summary: 'Search users by part of a name or email, with filters (platform admins)',
      description: 'Newest first, optionally of one type or status. Keyset pagination: pass nextCursor back with the same filters.',
      querystring: UserSearchQuery,
      response: { 200: UserPage }
    }
  }, async (request) => searchUsers(deps, request.query))

  app.get('/users/:id', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'getUser',
      tags: ['admin'],
      summary: 'A user (platform admins)',
      description: 'Any account, whatever its status; a deleted one is 404.',
      params: UserIdParams,
      response: { 200: UserRef, ...problems(404) }
    }
  }, async (request) => {
    const user = await findUserById(deps.db, request.params.id)
    if (!user) throw NotFound('NOT_FOUND', 'user not found')
    return toUserView(user)
  })

  app.post('/users', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'createUser',
      tags: ['admin'],
      summary: 'Create a user (platform admins)',
      description: 'Creates a verified account of any type, active unless status says otherwise; without a password the user signs in with emailed codes. An email that has an account is 409 EMAIL_TAKEN.',
      body: AdminCreateUserBody,
      response: { 201: withLocation(UserRef), ...problems(409) }
    }
  }, async (request, reply) => {
    const { status, ...rest } = request.body
    const user = await adminCreateUser(deps, principalOf(request).userId, { ...rest, status: status ?? 'active' })
    return reply.code(201).header('location', `/users/${user.id}`).send(user)
  })

  app.patch('/users/:id', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'updateUser',
      tags: ['admin'],
      summary: 'Update a user\'s profile or type (platform admins)',
      description: 'Fields left out keep their value; the email and the status change elsewhere (the user\'s own email change, PATCH /users/{id}/status).',
      params: UserIdParams,
      body: AdminUserPatch,
      response: { 200: UserRef, ...problems(404) }
    }
  }, async (request) => updateProfile(deps, principalOf(request).userId, request.params.id, request.body))

  app.patch('/users/:id/status', {
    config: { auth: 'admin', changesCatalog: true },
    schema: {
      operationId: 'setUserStatus',
      tags: ['admin'],
      summary: 'Set a user\'s status; suspending or deactivating ends all their sessions at once (platform admins)',
      description: 'A vendor\'s products leave the catalog while they are not active and come back when they are. Admins cannot change their own status (409 CANNOT_CHANGE_SELF).',
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
    schema: {
      operationId: 'deleteUser',
      tags: ['admin'],
      summary: 'Delete a user (soft; their sessions end) (platform admins)',
      description: 'The account can no longer sign in and a vendor\'s products leave the catalog; orders keep their records. Admins cannot delete themselves (409 CANNOT_CHANGE_SELF).',
      params: UserIdParams,
      response: { 204: Type.Null(), ...problems(404, 409) }
    }
  }, async (request, reply) => {
    const actor = principalOf(request)
    if (request.params.id === actor.userId) throw Conflict('CANNOT_CHANGE_SELF', 'Admins cannot delete themselves.')
    await softDeleteUser(deps, actor.userId, request.params.id, syncListing)
    return reply.code(204).send(null)
  })
}

export default users
