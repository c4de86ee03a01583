import { sql, type RawBuilder, type SqlBool } from 'kysely'
import type { Trx } from '../../platform/db.ts'
import type { ReviewStatus } from './schemas.ts'

/**
 * "This user is an approved vendor": a live vendor profile whose review is approved. A
 * reusable expression for the on-sale rule; `userId` is a column reference, e.g. 'w.owner_id'.
 */
export function isApprovedVendor (userId: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`exists (select 1 from vendor_profiles approved_vp
    where approved_vp.user_id = ${sql.ref(userId)} and approved_vp.deleted_at is null and approved_vp.review_status = ${sql.lit<ReviewStatus>('approved')})`
}

/**
 * Holds the user's live vendor profile (FOR SHARE) until the caller's transaction ends: a review
 * decision or deletion waits for it, and the caller reads the review as it stands.
 */
export async function holdVendorApproval (trx: Trx, userId: string): Promise<void> {
  await trx.selectFrom('vendorProfiles').select('id').where('userId', '=', userId).where('deletedAt', 'is', null).forShare().execute()
}
