import { sql } from 'kysely'
import { readerFor, type Deps } from '../../platform/deps.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import type { Principal } from '../../platform/principal.ts'
import { isActiveUser } from '../users/public.ts'
import { toProfileView } from './access.ts'
import type { ProfileQuery, ProfileView } from './schemas.ts'

/** Platform admins search every profile (by review status, too); everyone else the approved ones of active vendors. */
export async function listProfiles (deps: Deps, principal: Principal | null, query: ProfileQuery): Promise<PageOf<ProfileView>> {
  const after = decodeCursor(query.cursor, ['uuid'])
  let q = readerFor(deps, principal).selectFrom('vendorProfiles').selectAll().where('deletedAt', 'is', null)
  if (principal?.type === 'admin') {
    if (query.reviewStatus) q = q.where('reviewStatus', '=', query.reviewStatus)
  } else {
    q = q.where('reviewStatus', '=', 'approved').where(isActiveUser('vendor_profiles.user_id'))
  }
  if (query.q) {
    const pattern = `%${query.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
    q = q.where(sql<boolean>`lower(business_name || ' ' || coalesce(company_name, '')) like ${pattern}`)
  }
  if (query.businessType) q = q.where('businessType', '=', query.businessType)
  if (query.country) q = q.where('country', '=', query.country.toUpperCase())
  if (after) q = q.where('id', '<', after[0])
  const rows = await q.orderBy('id', 'desc').limit(query.limit + 1).execute()
  return toPage(rows, query.limit, (r) => toProfileView(deps, r, principal), (r) => [r.id])
}
