import type { Deps } from '../../platform/deps.ts'
import { Unauthorized } from '../../platform/errors.ts'
import type { Principal } from '../../platform/principal.ts'
import { findUserById, toUserView } from '../users/public.ts'
import { listMemberships } from '../workspaces/public.ts'
import type { MeView } from './schemas.ts'

// Clients ask for /auth/me on every page: the answer is kept in the process, keyed by the
// user's profile version, which every change to the user or their memberships bumps in Redis
// (read on the request's one round trip, so every API copy sees a change at once).
const ME_CACHE_LIMIT = 10_000
const meCache = new Map<string, MeView>()

export async function me (deps: Deps, principal: Principal): Promise<MeView> {
  const key = `${principal.userId}:${principal.profileVersion}`
  const cached = meCache.get(key)
  if (cached) return cached
  const user = await findUserById(deps.db, principal.userId)
  if (!user) throw Unauthorized('SESSION_ENDED', 'The account no longer exists.')
  const view = { user: toUserView(user), workspaces: await listMemberships(deps.db, user.id) }
  if (meCache.size >= ME_CACHE_LIMIT) meCache.delete(meCache.keys().next().value!)
  meCache.set(key, view)
  return view
}
