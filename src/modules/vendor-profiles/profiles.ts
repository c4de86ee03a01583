import { readerFor, type Deps } from '../../platform/deps.ts'
import { BadRequest, Conflict, Forbidden, NotFound, isUniqueViolation } from '../../platform/errors.ts'
import type { Principal } from '../../platform/principal.ts'
import { removeFilesLater, type StoredObject } from '../../platform/storage.ts'
import type { StoredUpload } from '../../platform/uploads.ts'
import { findUserById } from '../users/public.ts'
import { isPrivileged, liveProfile, ownedProfile, toProfileView, visibleProfile } from './access.ts'
import { legalIdentityChanges, sendBackToReview, type ListingSync } from './review.ts'
import type { CreateProfileBody, ProfileView, UpdateProfileBody } from './schemas.ts'

export interface ProfileFiles { logo?: StoredUpload, certificate?: StoredUpload }

function columns (body: UpdateProfileBody) {
  const { workingDays, paymentMode, ...rest } = body
  return {
    ...rest,
    ...(workingDays !== undefined ? { workingDays } : {}),
    ...(paymentMode !== undefined ? { paymentMode } : {})
  }
}

export async function createProfile (deps: Deps, principal: Principal, body: CreateProfileBody): Promise<ProfileView> {
  const { userId: requested, ...fields } = body
  let userId = principal.userId
  if (principal.type === 'admin' && requested !== undefined) {
    userId = requested
  } else if (requested !== undefined && requested !== principal.userId) {
    throw BadRequest('VALIDATION_FAILED', 'body/userId can only be set by platform admins', { field: '/body/userId', fieldDetail: 'can only be set by platform admins' })
  }
  const owner = await findUserById(deps.db, userId)
  if (!owner || owner.type !== 'vendor') {
    throw principal.type === 'admin' && requested !== undefined
      ? BadRequest('VALIDATION_FAILED', 'body/userId must be a vendor', { field: '/body/userId', fieldDetail: 'must be a vendor' })
      : Forbidden('FORBIDDEN', 'Only vendors have vendor profiles.')
  }
  try {
    const row = await deps.db.insertInto('vendorProfiles').values({
      id: deps.random.uuid(),
      userId,
      ...columns(fields),
      businessType: fields.businessType,
      businessName: fields.businessName,
      reviewStatus: 'pending',
      createdBy: principal.userId,
      updatedBy: principal.userId
    }).returningAll().executeTakeFirstOrThrow()
    return toProfileView(deps, row, principal)
  } catch (err) {
    if (isUniqueViolation(err)) throw Conflict('PROFILE_EXISTS', 'This vendor already has a profile; update it instead.')
    throw err
  }
}

export async function getProfile (deps: Deps, principal: Principal | null, id: string): Promise<ProfileView> {
  return toProfileView(deps, await visibleProfile(deps, id, principal), principal)
}

export async function getProfileByUser (deps: Deps, principal: Principal | null, userId: string): Promise<ProfileView> {
  const row = await readerFor(deps, principal).selectFrom('vendorProfiles').select('id').where('userId', '=', userId).where('deletedAt', 'is', null).executeTakeFirst()
  if (!row) throw NotFound('NOT_FOUND', 'vendor profile not found')
  return getProfile(deps, principal, row.id)
}

export async function updateProfile (deps: Deps, principal: Principal, id: string, body: UpdateProfileBody, syncListing: ListingSync): Promise<ProfileView> {
  const row = await deps.db.transaction().execute(async (trx) => {
    // Locked, so the comparison below is with what this update replaces.
    const current = await ownedProfile(deps, id, principal, trx)
    const changed = legalIdentityChanges(current, body)
    const updated = await trx.updateTable('vendorProfiles')
      .set({ ...columns(body), updatedAt: deps.clock.now(), updatedBy: principal.userId })
      .where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    return sendBackToReview(trx, deps, updated, changed, syncListing)
  })
  return toProfileView(deps, row, principal)
}

/** Soft delete: an approved vendor's products leave the catalog with it; its files are removed. */
export async function deleteProfile (deps: Deps, principal: Principal, id: string, syncListing: ListingSync): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const row = await ownedProfile(deps, id, principal, trx)
    const now = deps.clock.now()
    await trx.updateTable('vendorProfiles').set({ deletedAt: now, updatedAt: now, updatedBy: principal.userId }).where('id', '=', id).execute()
    if (row.reviewStatus === 'approved') await syncListing(trx, { ownerId: row.userId })
    await removeFilesLater(trx, [row.logoKey, row.certificateKey])
  })
}

/** Replaces the logo and/or the certificate; the replaced files are removed by the worker. */
export async function setProfileFiles (deps: Deps, principal: Principal, id: string, uploads: ProfileFiles, syncListing: ListingSync): Promise<ProfileView> {
  const row = await deps.db.transaction().execute(async (trx) => {
    const current = await ownedProfile(deps, id, principal, trx)
    const updated = await trx.updateTable('vendorProfiles').set({
      ...(uploads.logo ? { logoKey: uploads.logo.key } : {}),
      ...(uploads.certificate ? { certificateKey: uploads.certificate.key } : {}),
      updatedAt: deps.clock.now(),
      updatedBy: principal.userId
    }).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    await removeFilesLater(trx, [uploads.logo ? current.logoKey : null, uploads.certificate ? current.certificateKey : null])
    // A new registration certificate is a new legal identity to check; a logo is cosmetic.
    return sendBackToReview(trx, deps, updated, uploads.certificate ? ['businessRegistrationCertificate'] : [], syncListing)
  })
  return toProfileView(deps, row, principal)
}

/** The private certificate, for the vendor and platform admins; anyone else gets 404. */
export async function openCertificate (deps: Deps, principal: Principal | null, id: string): Promise<StoredObject> {
  const row = await liveProfile(deps, id)
  if (!row || !row.certificateKey || !isPrivileged(principal, row)) throw NotFound('NOT_FOUND', 'certificate not found')
  const file = await deps.storage.open(row.certificateKey)
  if (!file) throw NotFound('NOT_FOUND', 'certificate not found')
  return file
}
