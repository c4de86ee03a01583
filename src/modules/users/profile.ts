import type { Deps } from '../../platform/deps.ts'
import { NotFound } from '../../platform/errors.ts'
import { bumpProfileVersion } from '../../platform/profile-version.ts'
import { updateSessionsUserType } from '../sessions/public.ts'
import { toUserView } from './accounts.ts'
import type { UserType } from '../../platform/principal.ts'
import type { ProfilePatch, UserView } from './schemas.ts'

// The fields a user edits themselves (an admin may also change the type).

function profileColumns (patch: ProfilePatch) {
  return {
    ...(patch.name !== undefined ? { name: patch.name } : {}),
    ...(patch.phone !== undefined ? { phone: patch.phone } : {}),
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
