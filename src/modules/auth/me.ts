import type { Deps } from '../../platform/deps.ts'
import { Unauthorized } from '../../platform/errors.ts'
import type { Principal } from '../../platform/principal.ts'
import { ProfileViewCache } from '../../platform/profile-version.ts'
import { findUserById, toUserView } from '../users/public.ts'
import { listMemberships } from '../workspaces/public.ts'
import type { MeView } from './schemas.ts'

// Clients ask for /auth/me on every page: the answer is kept in the process, keyed by the
// user's profile version, which every change to the user or their memberships bumps in Redis
// (read on the request's one round trip, so every API copy sees a change at once).
const meCache = new ProfileViewCache<MeView>({ limit: 10_000, maxAgeMs: 60_000 })

export async function me (deps: Deps, principal: Principal): Promise<MeView> {
  const now = deps.clock.now().getTime()
  const cached = meCache.get(principal.userId, principal.profileVersion, now)
  if (cached) return cached
  const user = await findUserById(deps.db, principal.userId)
  if (!user) throw Unauthorized('SESSION_ENDED', 'The account no longer exists.')
  const view = { user: toUserView(user), workspaces: await listMemberships(deps.db, user.id) }
  // Only an active account's view is kept; any other is read afresh every time.
  if (user.status === 'active') meCache.set(principal.userId, principal.profileVersion, view, now)
  return view
}
