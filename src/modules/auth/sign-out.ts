import type { Deps } from '../../platform/deps.ts'
import type { Principal } from '../../platform/principal.ts'
import { endSession, endUserSessions } from '../sessions/public.ts'

export async function logout (deps: Deps, principal: Principal): Promise<void> {
  await endSession(deps, principal.sessionId, 'logout')
}

export async function logoutEverywhere (deps: Deps, principal: Principal): Promise<void> {
  await endUserSessions(deps, principal.userId, 'logout')
}
