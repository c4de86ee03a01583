import { sql, type Selectable } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { Trx } from '../../platform/db.ts'
import type { VendorProfiles } from '../../platform/db-types.ts'
import { AppError, InvalidField, NotFound } from '../../platform/errors.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import type { Principal } from '../../platform/principal.ts'
import type { StoredObject } from '../../platform/storage.ts'
import type { StoredUpload } from '../../platform/uploads.ts'
import { emailInTransaction } from '../../emails.ts'
import { findUserById } from '../users/service.ts'
import { removeFilesLater } from '../workspaces/service.ts'
import type { CreateProfileBody, UpdateProfileBody } from './schemas.ts'

// Vendor profiles (SPEC 7.3): a vendor's business details, reviewed by platform admins. Until a
// workspace owner's profile is approved, the workspace's products stay out of the catalog.

type ProfileRow = Selectable<VendorProfiles>
export type ReviewStatus = 'pending' | 'approved' | 'rejected'

export interface ProfileView extends Omit<ProfileRow, 'logoKey' | 'certificateKey' | 'reviewedBy' | 'deletedAt' | 'reviewStatus' | 'reviewReason' | 'reviewedAt' | 'createdBy' | 'updatedBy'> {
  reviewStatus: ReviewStatus
  logo: string | null
  businessRegistrationCertificate: string | null
  reviewReason?: string | null
  reviewedAt?: Date | null
  reviewedBy?: string | null
  createdBy?: string | null
  updatedBy?: string | null
}

/** The vendor and platform admins see everything; others only approved profiles, never the certificate. */
function isPrivileged (principal: Principal | null, row: ProfileRow): boolean {
  return principal !== null && (principal.type === 'admin' || principal.userId === row.userId)
}

/**
 * Review notes are the vendor's and the admins'; who reviewed or edited (staff ids in the audit
 * columns) only the admins'. The public sees neither.
 */
function view (deps: Deps, row: ProfileRow, principal: Principal | null): ProfileView {
  const { logoKey, certificateKey, reviewedBy, deletedAt: _d, reviewReason, reviewedAt, createdBy, updatedBy, ...rest } = row
  return {
    ...rest,
    reviewStatus: row.reviewStatus as ReviewStatus,
    logo: logoKey ? `${deps.config.publicUrl}/files/${logoKey.replace(/^public\//, '')}` : null,
    businessRegistrationCertificate: certificateKey && isPrivileged(principal, row) ? `${deps.config.publicUrl}/vendor-profiles/${row.id}/certificate` : null,
    ...(isPrivileged(principal, row) ? { reviewReason, reviewedAt } : {}),
    ...(principal?.type === 'admin' ? { reviewedBy, createdBy, updatedBy } : {})
  }
}

async function liveProfile (deps: Deps, id: string, trx?: Trx): Promise<ProfileRow | undefined> {
  const q = (trx ?? deps.db).selectFrom('vendorProfiles').selectAll().where('id', '=', id).where('deletedAt', 'is', null)
  return (trx ? q.forUpdate() : q).executeTakeFirst()
}

/** A profile as the caller may see it: a hidden one is as absent as a missing one (404). */
async function visibleProfile (deps: Deps, id: string, principal: Principal | null): Promise<ProfileRow> {
  const row = await liveProfile(deps, id)
  if (!row) throw NotFound('vendor profile')
  if (isPrivileged(principal, row)) return row
  // Public: approved, and its vendor an active, not deleted user (a suspended or deleted
  // vendor's profile leaves public view with their products).
  const owner = row.reviewStatus === 'approved'
    ? await deps.db.selectFrom('users').select('id').where('id', '=', row.userId).where('status', '=', 'active').where('deletedAt', 'is', null).executeTakeFirst()
    : undefined
  if (!owner) throw NotFound('vendor profile')
  return row
}

/** A profile the caller may change: their own, or any for a platform admin (else 404). */
export async function ownedProfile (deps: Deps, id: string, principal: Principal, trx?: Trx): Promise<ProfileRow> {
  const row = await liveProfile(deps, id, trx)
  if (!row || !isPrivileged(principal, row)) throw NotFound('vendor profile')
  return row
}

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
    throw InvalidField('/body/userId', 'can only be set by platform admins')
  }
  const owner = await findUserById(deps.db, userId)
  if (!owner || owner.type !== 'vendor') {
    throw principal.type === 'admin' && requested !== undefined
      ? InvalidField('/body/userId', 'must be a vendor')
      : new AppError(403, 'FORBIDDEN', 'Only vendors have vendor profiles.')
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
    return view(deps, row, principal)
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new AppError(409, 'PROFILE_EXISTS', 'This vendor already has a profile; update it instead.')
    throw err
  }
}

export interface ProfileSearch { q?: string, businessType?: string, country?: string, reviewStatus?: ReviewStatus, limit: number, cursor?: string }

export async function listProfiles (deps: Deps, principal: Principal | null, query: ProfileSearch): Promise<PageOf<ProfileView>> {
  const after = decodeCursor(query.cursor, ['uuid'])
  let q = deps.db.selectFrom('vendorProfiles').selectAll().where('deletedAt', 'is', null)
  if (principal?.type === 'admin') {
    if (query.reviewStatus) q = q.where('reviewStatus', '=', query.reviewStatus)
  } else {
    q = q.where('reviewStatus', '=', 'approved')
      .where('userId', 'in', (eb) => eb.selectFrom('users').select('users.id').where('users.status', '=', 'active').where('users.deletedAt', 'is', null))
  }
  if (query.q) {
    const pattern = `%${query.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
    q = q.where(sql<boolean>`lower(business_name || ' ' || coalesce(company_name, '')) like ${pattern}`)
  }
  if (query.businessType) q = q.where('businessType', '=', query.businessType)
  if (query.country) q = q.where('country', '=', query.country.toUpperCase())
  if (after) q = q.where('id', '<', after[0])
  const rows = await q.orderBy('id', 'desc').limit(query.limit + 1).execute()
  return toPage(rows, query.limit, (r) => view(deps, r, principal), (r) => [r.id])
}

export async function getProfile (deps: Deps, principal: Principal | null, id: string): Promise<ProfileView> {
  return view(deps, await visibleProfile(deps, id, principal), principal)
}

export async function getProfileByUser (deps: Deps, principal: Principal | null, userId: string): Promise<ProfileView> {
  const row = await deps.db.selectFrom('vendorProfiles').select('id').where('userId', '=', userId).where('deletedAt', 'is', null).executeTakeFirst()
  if (!row) throw NotFound('vendor profile')
  return getProfile(deps, principal, row.id)
}

/** The fields an approval vouches for: changing one sends an approved profile back to review. */
const LEGAL_IDENTITY = ['businessName', 'companyName', 'gstNumber'] as const

/**
 * After a change to the legal identity (fields named in `changed`): an approved or rejected
 * profile goes (back) to `pending` and the platform admins are emailed, in the caller's
 * transaction; one already pending stays in the queue it is in.
 */
async function sendBackToReview (trx: Trx, deps: Deps, row: ProfileRow, changed: string[]): Promise<ProfileRow> {
  if (changed.length === 0 || row.reviewStatus === 'pending') return row
  const pending = await trx.updateTable('vendorProfiles').set({ reviewStatus: 'pending' }).where('id', '=', row.id).returningAll().executeTakeFirstOrThrow()
  const admins = await trx.selectFrom('users').select('email')
    .where('type', '=', 'admin').where('status', '=', 'active').where('deletedAt', 'is', null)
    .orderBy('createdAt').limit(100).execute()
  for (const admin of admins) {
    await emailInTransaction(trx, deps.sealer, 'vendor-review-requested', admin.email, {
      businessName: pending.businessName, profileId: pending.id, changed, url: `${deps.config.publicUrl}/vendor-profiles/${pending.id}`
    })
  }
  return pending
}

export async function updateProfile (deps: Deps, principal: Principal, id: string, body: UpdateProfileBody): Promise<ProfileView> {
  const row = await deps.db.transaction().execute(async (trx) => {
    // Locked, so the comparison below is with what this update replaces.
    const current = await ownedProfile(deps, id, principal, trx)
    const changed = LEGAL_IDENTITY.filter((field) => body[field] !== undefined && body[field] !== current[field])
    const updated = await trx.updateTable('vendorProfiles')
      .set({ ...columns(body), updatedAt: deps.clock.now(), updatedBy: principal.userId })
      .where('id', '=', id).returningAll().executeTakeFirstOrThrow()
    return sendBackToReview(trx, deps, updated, changed)
  })
  return view(deps, row, principal)
}

export async function deleteProfile (deps: Deps, principal: Principal, id: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const row = await ownedProfile(deps, id, principal, trx)
    await trx.updateTable('vendorProfiles').set({ deletedAt: deps.clock.now(), updatedAt: deps.clock.now(), updatedBy: principal.userId }).where('id', '=', id).execute()
    await removeFilesLater(trx, [row.logoKey, row.certificateKey])
  })
}

/** Replaces the logo and/or the certificate; the replaced files are removed by the worker. */
export async function setProfileFiles (deps: Deps, principal: Principal, id: string, uploads: { logo?: StoredUpload, certificate?: StoredUpload }): Promise<ProfileView> {
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
    return sendBackToReview(trx, deps, updated, uploads.certificate ? ['businessRegistrationCertificate'] : [])
  })
  return view(deps, row, principal)
}

/** The private certificate, for the vendor and platform admins; anyone else gets 404. */
export async function openCertificate (deps: Deps, principal: Principal | null, id: string): Promise<StoredObject> {
  const row = await liveProfile(deps, id)
  if (!row || !row.certificateKey || !isPrivileged(principal, row)) throw NotFound('certificate')
  const file = await deps.storage.open(row.certificateKey)
  if (!file) throw NotFound('certificate')
  return file
}

/** A platform admin approves or rejects; the vendor is emailed the outcome (through the outbox). */
export async function reviewProfile (deps: Deps, admin: Principal, id: string, decision: { status: 'approved' | 'rejected', reason?: string, expectedUpdatedAt?: string }): Promise<ProfileView> {
  if (decision.status === 'rejected' && !decision.reason) throw InvalidField('/body/reason', 'is required to reject')
  const row = await deps.db.transaction().execute(async (trx) => {
    const now = deps.clock.now()
    // Locked, then compared with the version the admin reviewed: a legal edit that landed in
    // between (it sends the profile back to review) must not be approved unseen.
    const current = await liveProfile(deps, id, trx)
    if (!current) throw NotFound('vendor profile')
    if (decision.expectedUpdatedAt !== undefined && current.updatedAt.getTime() !== new Date(decision.expectedUpdatedAt).getTime()) {
      throw new AppError(409, 'PROFILE_CHANGED', 'The profile changed since you reviewed it: review the current version.', {
        errors: [{ pointer: '/body/expectedUpdatedAt', detail: `is not the current version (${current.updatedAt.toISOString()})` }]
      })
    }
    const updated = await trx.updateTable('vendorProfiles').set({
      reviewStatus: decision.status,
      reviewReason: decision.status === 'rejected' ? decision.reason! : null,
      reviewedAt: now,
      reviewedBy: admin.userId,
      updatedAt: now,
      updatedBy: admin.userId
    }).where('id', '=', id).where('deletedAt', 'is', null).returningAll().executeTakeFirst()
    if (!updated) throw NotFound('vendor profile')
    const vendor = await trx.selectFrom('users').select(['email', 'name']).where('id', '=', updated.userId).executeTakeFirstOrThrow()
    await emailInTransaction(trx, deps.sealer, 'vendor-review', vendor.email, {
      name: vendor.name, businessName: updated.businessName, status: decision.status, reason: updated.reviewReason
    })
    return updated
  })
  return view(deps, row, admin)
}
