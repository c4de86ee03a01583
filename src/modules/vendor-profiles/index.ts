import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { MultipartFile } from '@fastify/multipart'
import { Type } from '@sinclair/typebox'
import { withLocation } from '../../platform/docs.ts'
import { BadRequest, problems } from '../../platform/errors.ts'
import { principalOf } from '../../platform/principal.ts'
import { acceptUploads, DOCUMENT_TYPES, IMAGE_TYPES, storeUpload, withStoredUploads, type StoredUpload } from '../../platform/uploads.ts'
import { ownedProfile } from './access.ts'
import { createProfile, deleteProfile, getProfile, getProfileByUser, openCertificate, setProfileFiles, updateProfile, type ProfileFiles } from './profiles.ts'
import { reviewProfile, type ListingSync } from './review.ts'
import { ByUserParams, CreateProfileBody, ProfilePage, ProfileParams, ProfileQuery, ProfileRef, ReviewBody, UpdateProfileBody } from './schemas.ts'
import { listProfiles } from './search.ts'

const tags = ['vendor-profiles']

export interface VendorProfilesOptions {
  /** Relists a vendor's products when their review changes (products' syncListing). */
  syncListing: ListingSync
}

const vendorProfiles: FastifyPluginAsyncTypebox<VendorProfilesOptions> = async (app, { syncListing }) => {
  const { deps } = app
  await acceptUploads(app)

  app.post('/vendor-profiles', {
    config: { auth: 'user' },
    schema: {
      operationId: 'createVendorProfile',
      tags,
      summary: 'Create a vendor profile (a vendor for themself; an admin for any vendor via userId)',
      description: 'The profile waits for a platform admin\'s review (reviewStatus pending); the vendor\'s products show in the catalog once it is approved. One profile per vendor (409 PROFILE_EXISTS); a user who is not a vendor gets 403.',
      body: CreateProfileBody,
      response: { 201: withLocation(ProfileRef), ...problems(409) }
    }
  }, async (request, reply) => {
    const profile = await createProfile(deps, principalOf(request), request.body)
    return reply.code(201).header('location', `/vendor-profiles/${profile.id}`).send(profile)
  })

  app.get('/vendor-profiles', {
    config: { auth: 'optional' },
    schema: {
      operationId: 'searchVendorProfiles',
      tags,
      summary: 'Search vendor profiles (approved ones; platform admins see all)',
      description: 'Anyone may search; a bearer token is optional and only changes what a platform admin sees (every review status, the reviewStatus filter, admin-only fields). Keyset pagination: pass nextCursor back with the same filters.',
      querystring: ProfileQuery,
      response: { 200: ProfilePage }
    }
  }, async (request) => listProfiles(deps, request.principal, request.query))

  app.get('/vendor-profiles/:id', {
    config: { auth: 'optional' },
    schema: {
      operationId: 'getVendorProfile',
      tags,
      summary: 'A vendor profile (approved, or your own, or any for admins)',
      description: 'A profile the caller may not see is 404, like one that does not exist. Review details show to the vendor and platform admins only.',
      params: ProfileParams,
      response: { 200: ProfileRef, ...problems(404) }
    }
  }, async (request) => getProfile(deps, request.principal, request.params.id))

  app.get('/vendor-profiles/by-user/:userId', {
    config: { auth: 'optional' },
    schema: {
      operationId: 'getVendorProfileByUser',
      tags,
      summary: 'A vendor\'s profile by user id',
      description: 'The same visibility as GET /vendor-profiles/{id}: approved profiles for everyone, your own, any for platform admins; otherwise 404.',
      params: ByUserParams,
      response: { 200: ProfileRef, ...problems(404) }
    }
  }, async (request) => getProfileByUser(deps, request.principal, request.params.userId))

  app.patch('/vendor-profiles/:id', {
    config: { auth: 'user', changesCatalog: true },
    schema: {
      operationId: 'updateVendorProfile',
      tags,
      summary: 'Update your profile (admins: any)',
      description: 'Fields left out keep their value. Changing the legal identity (businessName, companyName, gstNumber) sends a reviewed profile back to pending review, and an approved vendor\'s products leave the catalog until it is approved again.',
      params: ProfileParams,
      body: UpdateProfileBody,
      response: { 200: ProfileRef, ...problems(404) }
    }
  }, async (request) => updateProfile(deps, principalOf(request), request.params.id, request.body, syncListing))

  app.delete('/vendor-profiles/:id', {
    config: { auth: 'user', changesCatalog: true },
    schema: {
      operationId: 'deleteVendorProfile',
      tags,
      summary: 'Delete your profile (admins: any); its files are removed',
      description: 'Soft delete: an approved vendor\'s products leave the catalog with it.',
      params: ProfileParams,
      response: { 204: Type.Null(), ...problems(404) }
    }
  }, async (request, reply) => {
    await deleteProfile(deps, principalOf(request), request.params.id, syncListing)
    return reply.code(204).send(null)
  })

  app.put('/vendor-profiles/:id/files', {
    config: { auth: 'user', changesCatalog: true },
    schema: {
      operationId: 'uploadVendorProfileFiles',
      tags,
      summary: 'Upload the logo (image) and/or the business registration certificate (PDF or image)',
      description: 'multipart/form-data with fields "logo" and/or "businessRegistrationCertificate"; types are judged by content. The certificate is private. A new certificate sends a reviewed profile back to pending review.',
      consumes: ['multipart/form-data'],
      params: ProfileParams,
      response: { 200: ProfileRef, ...problems(404, 413, 415) }
    }
  }, async (request) => {
    const principal = principalOf(request)
    // Check access before reading the upload, so strangers cannot make us store anything.
    await ownedProfile(deps, request.params.id, principal)
    return withStoredUploads(app, async (stored) => {
      const uploads = await receive(request.files(), stored)
      return setProfileFiles(deps, principal, request.params.id, uploads, syncListing)
    })
  })

  /** Stores the logo and/or certificate parts, each recorded in `stored` as soon as it is. */
  async function receive (parts: AsyncIterableIterator<MultipartFile>, stored: StoredUpload[]): Promise<ProfileFiles> {
    const uploads: ProfileFiles = {}
    for await (const part of parts) {
      if ((part.fieldname === 'logo' && uploads.logo) || (part.fieldname === 'businessRegistrationCertificate' && uploads.certificate)) {
        part.file.resume()
        throw BadRequest('VALIDATION_FAILED', `"${part.fieldname}" was sent twice.`, { field: `/body/${part.fieldname}`, fieldDetail: 'was sent twice' })
      }
      if (part.fieldname === 'logo') {
        uploads.logo = await storeUpload(app.storage, part, { accept: IMAGE_TYPES, visibility: 'public', maxBytes: app.config.uploadMaxBytes })
        stored.push(uploads.logo)
      } else if (part.fieldname === 'businessRegistrationCertificate') {
        uploads.certificate = await storeUpload(app.storage, part, { accept: DOCUMENT_TYPES, visibility: 'private', maxBytes: app.config.uploadMaxBytes })
        stored.push(uploads.certificate)
      } else {
        part.file.resume()
        throw BadRequest('VALIDATION_FAILED', `Unknown file field "${part.fieldname}".`, { field: `/body/${part.fieldname}`, fieldDetail: 'is not a field of this upload' })
      }
    }
    if (!uploads.logo && !uploads.certificate) {
      throw BadRequest('VALIDATION_FAILED', 'Send a "logo" and/or "businessRegistrationCertificate" file.', { field: '/body/logo', fieldDetail: 'or businessRegistrationCertificate is required' })
    }
    return uploads
  }

  app.get('/vendor-profiles/:id/certificate', {
    config: { auth: 'optional' },
    schema: {
      operationId: 'downloadVendorCertificate',
      tags,
      summary: 'The business registration certificate (the vendor and platform admins only; 404 for anyone else)',
      description: 'The file as uploaded (PDF or image), never cached (private, no-store).',
      params: ProfileParams,
      produces: ['application/pdf', 'image/png', 'image/jpeg', 'image/webp'],
      response: { 200: { type: 'string', format: 'binary' } as const, ...problems(404) }
    }
  }, async (request, reply) => {
    const file = await openCertificate(deps, request.principal, request.params.id)
    return reply.type(file.contentType).header('content-length', file.size).header('x-content-type-options', 'nosniff')
      .header('cache-control', 'private, no-store')
      .header('content-disposition', file.contentType.startsWith('image/') ? 'inline' : 'attachment; filename="certificate.pdf"')
      .send(file.stream)
  })

  app.patch('/vendor-profiles/:id/review', {
    config: { auth: 'admin', changesCatalog: true },
    schema: {
      operationId: 'reviewVendorProfile',
      tags: ['admin'],
      summary: 'Approve or reject a profile (platform admins; expectedUpdatedAt: only the version you saw); the vendor is emailed',
      description: 'Approval puts the vendor\'s active products in the catalog; a rejection needs a reason. With expectedUpdatedAt, a profile changed since is 409 PROFILE_CHANGED and nothing is decided.',
      params: ProfileParams,
      body: ReviewBody,
      response: { 200: ProfileRef, ...problems(404, 409) }
    }
  }, async (request) => reviewProfile(deps, principalOf(request), request.params.id, request.body, syncListing))
}

export default vendorProfiles
