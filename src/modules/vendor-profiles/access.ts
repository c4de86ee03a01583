import type { Selectable } from 'kysely'
import { readerFor, type Deps } from '../../platform/deps.ts'
import type { Trx } from '../../platform/db.ts'
import type { VendorProfiles } from '../../platform/db-types.ts'
import { NotFound } from '../../platform/errors.ts'
import type { Principal } from '../../platform/principal.ts'
import { publicUrl } from '../../platform/public-url.ts'
import { isActiveUser } from '../users/public.ts'
import type { ProfileView, ReviewStatus } from './schemas.ts'

// Vendor profiles (SPEC 7.3): a vendor's business details, reviewed by platform admins. Until a
// workspace owner's profile is approved, the workspace's products stay out of the catalog.
// Who may see or change a profile, and what of it they see.

export type ProfileRow = Selectable<VendorProfiles>

/** The vendor and platform admins see everything; others only approved profiles, never the certificate. */
export function isPrivileged (principal: Principal | null, row: ProfileRow): boolean {
  return principal !== null && (principal.type === 'admin' || principal.userId === row.userId)
}

/**
 * Review notes are the vendor's and the admins'; who reviewed or edited (staff ids in the audit
 * columns) only the admins'. The public sees neither.
 */
export function toProfileView (deps: Deps, row: ProfileRow, principal: Principal | null): ProfileView {
  const { logoKey, certificateKey, reviewedBy, deletedAt: _d, reviewReason, reviewedAt, createdBy, updatedBy, ...rest } = row
  return {
    ...rest,
    reviewStatus: row.reviewStatus as ReviewStatus,
    logo: logoKey ? publicUrl(deps.config, `/files/${logoKey.replace(/^public\//, '')}`) : null,
    businessRegistrationCertificate: certificateKey && isPrivileged(principal, row) ? publicUrl(deps.config, `/vendor-profiles/${row.id}/certificate`) : null,
    ...(isPrivileged(principal, row) ? { reviewReason, reviewedAt } : {}),
    ...(principal?.type === 'admin' ? { reviewedBy, createdBy, updatedBy } : {})
  }
}

/** The live profile; within `trx`, locked for the caller's change. */
export async function liveProfile (deps: Deps, id: string, trx?: Trx): Promise<ProfileRow | undefined> {
  const q = (trx ?? deps.db).selectFrom('vendorProfiles').selectAll().where('id', '=', id).where('deletedAt', 'is', null)
  return (trx ? q.forUpdate() : q).executeTakeFirst()
}

/**
 * A profile as the caller may see it: a hidden one is as absent as a missing one (404). Read
 * anonymously, from the replica when there is one; a signed-in caller may be its vendor (readerFor).
 */
export async function visibleProfile (deps: Deps, id: string, principal: Principal | null): Promise<ProfileRow> {
  const found = await readerFor(deps, principal).selectFrom('vendorProfiles').selectAll()
    .select(isActiveUser('vendor_profiles.user_id').as('vendorActive'))
    .where('id', '=', id).where('deletedAt', 'is', null).executeTakeFirst()
  if (!found) throw NotFound('NOT_FOUND', 'vendor profile not found')
  const { vendorActive, ...row } = found
  if (isPrivileged(principal, row)) return row
  // Public: approved, and its vendor an active, not deleted user (a suspended or deleted
  // vendor's profile leaves public view with their products).
  if (row.reviewStatus !== 'approved' || !vendorActive) throw NotFound('NOT_FOUND', 'vendor profile not found')
  return row
}

/** A profile the caller may change: their own, or any for a platform admin (else 404). */
export async function ownedProfile (deps: Deps, id: string, principal: Principal, trx?: Trx): Promise<ProfileRow> {
  const row = await liveProfile(deps, id, trx)
  if (!row || !isPrivileged(principal, row)) throw NotFound('NOT_FOUND', 'vendor profile not found')
  return row
}
