import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import { NotFound } from '../../platform/errors.ts'
import { bumpProfileVersion, type ProfileViewCache } from '../../platform/profile-version.ts'
import { updateSessionsUserType } from '../sessions/public.ts'
import { findUserById, toUserView } from './accounts.ts'
import type { Principal, UserType } from '../../platform/principal.ts'
import type { ProfilePatch, UserView } from './schemas.ts'

// The signed-in user's own profile: read (GET /users/me) and the fields they edit themselves
// (an admin may also change the type). Every write here bumps the profile version.

/**
 * The caller's own view, as the route's serializer writes it. Clients fetch it on every page:
 * it comes from the process's cache while the profile version the session check just read is
 * the one it was stored under, with no SQL and no Redis beyond that check. Only an active
 * account's view is kept; any other is read afresh every time.
 */
export async function ownProfileJson (deps: Pick<Deps, 'db' | 'clock'>, cache: ProfileViewCache<string>, principal: Principal,
  serialize: (view: UserView) => string): Promise<string> {
  const now = deps.clock.now().getTime()
  const cached = cache.get(principal.userId, principal.profileVersion, now)
  if (cached !== undefined) return cached
  const user = await findUserById(deps.db, principal.userId)
  if (!user) throw NotFound('NOT_FOUND', 'user not found')
  const json = serialize(toUserView(user))
  if (user.status === 'active') cache.set(principal.userId, principal.profileVersion, json, now)
  else cache.delete(principal.userId)
  return json
}

function profileColumns (patch: ProfilePatch) {
  return {
    ...(patch.name !== undefined ? { name: patch.name } : {}),
    // A different number is not the one that proved itself: it is unverified until it does.
    ...(patch.phone !== undefined ? { phone: patch.phone, phoneVerifiedAt: sql<Date | null>`case when phone is not distinct from ${patch.phone} then phone_verified_at end` } : {}),
    ...(patch.postCode !== undefined ? { postCode: patch.postCode } : {}),
    ...(patch.country !== undefined ? { country: patch.country } : {}),
    ...(patch.city !== undefined ? { city: patch.city } : {})
  }
}

export async function updateProfile (deps: Deps, actorId: string, userId: string, patch: ProfilePatch & { type?: UserType }): Promise<UserView> {
  const row = await deps.db.updateTable('users')
    .set({ ...profileColumns(patch), ...(patch.type !== undefined ? { type: patch.type } : {}), updatedAt: deps.clock.now(), updatedBy: actorId })
    .where('id', '=', userId).where('deletedAt', 'is', null)
    .returningAll().executeTakeFirst()
  if (!row) throw NotFound('NOT_FOUND', 'user not found')
  // Live sessions carry the type (admin routes check it per request without a lookup).
  if (patch.type !== undefined) await updateSessionsUserType(deps, userId, patch.type)
  await bumpProfileVersion(deps, userId)
  return toUserView(row)
}
