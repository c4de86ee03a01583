import type { Deps } from '../../platform/deps.ts'
import type { Trx } from '../../platform/db.ts'
import { BadRequest, Conflict, NotFound } from '../../platform/errors.ts'
import { emailInTransaction } from '../../platform/mail.ts'
import type { Principal } from '../../platform/principal.ts'
import { appLink } from '../../platform/public-url.ts'
import { activeAdminContacts, contactOf } from '../users/public.ts'
import { liveProfile, toProfileView, type ProfileRow } from './access.ts'
import { vendorReviewEmail, vendorReviewRequestedEmail } from './emails.ts'
import type { ProfileView, ReviewBody, UpdateProfileBody } from './schemas.ts'

/**
 * Brings what the public catalog lists of a vendor's workspaces in step with a change to their
 * review (products' syncListing), in the changing transaction. Passed in by app.ts.
 */
export type ListingSync = (trx: Trx, scope: { ownerId: string }) => Promise<void>

/** The fields an approval vouches for: changing one sends an approved profile back to review. */
const LEGAL_IDENTITY = ['businessName', 'companyName', 'gstNumber'] as const

/** The legal-identity fields `patch` changes on `current`. */
export function legalIdentityChanges (current: ProfileRow, patch: UpdateProfileBody): string[] {
  return LEGAL_IDENTITY.filter((field) => patch[field] !== undefined && patch[field] !== current[field])
}

/**
 * After a change to the legal identity (fields named in `changed`): an approved or rejected
 * profile goes (back) to `pending` (an approved vendor's products leave the catalog) and the
 * platform admins are emailed, in the caller's transaction; one already pending stays in the
 * queue it is in.
 */
export async function sendBackToReview (trx: Trx, deps: Deps, row: ProfileRow, changed: string[], syncListing: ListingSync): Promise<ProfileRow> {
  if (changed.length === 0 || row.reviewStatus === 'pending') return row
  const pending = await trx.updateTable('vendorProfiles').set({ reviewStatus: 'pending' }).where('id', '=', row.id).returningAll().executeTakeFirstOrThrow()
  if (row.reviewStatus === 'approved') await syncListing(trx, { ownerId: pending.userId })
  for (const admin of await activeAdminContacts(trx)) {
    await emailInTransaction(trx, deps.sealer, vendorReviewRequestedEmail, admin.email, {
      businessName: pending.businessName, profileId: pending.id, changed, url: appLink(deps.config, `/vendor-profiles/${pending.id}`)
    })
  }
  return pending
}

/**
 * A platform admin approves or rejects; the vendor's products join or leave the catalog, and the
 * vendor is emailed the outcome (through the outbox).
 */
export async function reviewProfile (deps: Deps, admin: Principal, id: string, decision: ReviewBody, syncListing: ListingSync): Promise<ProfileView> {
  if (decision.status === 'rejected' && !decision.reason) throw BadRequest('VALIDATION_FAILED', 'body/reason is required to reject', { field: '/body/reason', fieldDetail: 'is required to reject' })
  const row = await deps.db.transaction().execute(async (trx) => {
    const now = deps.clock.now()
    // Locked, then compared with the version the admin reviewed: a legal edit that landed in
    // between (it sends the profile back to review) must not be approved unseen.
    const current = await liveProfile(deps, id, trx)
    if (!current) throw NotFound('NOT_FOUND', 'vendor profile not found')
    if (decision.expectedUpdatedAt !== undefined && current.updatedAt.getTime() !== new Date(decision.expectedUpdatedAt).getTime()) {
      throw Conflict('PROFILE_CHANGED', 'The profile changed since you reviewed it: review the current version.', {
        field: '/body/expectedUpdatedAt', fieldDetail: `is not the current version (${current.updatedAt.toISOString()})`
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
    if (!updated) throw NotFound('NOT_FOUND', 'vendor profile not found')
    if ((current.reviewStatus === 'approved') !== (updated.reviewStatus === 'approved')) await syncListing(trx, { ownerId: updated.userId })
    const vendor = await contactOf(trx, updated.userId)
    if (!vendor) throw new Error(`the vendor ${updated.userId} of profile ${id} does not exist`)
    await emailInTransaction(trx, deps.sealer, vendorReviewEmail, vendor.email, {
      name: vendor.name, businessName: updated.businessName, status: decision.status, reason: updated.reviewReason
    })
    return updated
  })
  return toProfileView(deps, row, admin)
}
