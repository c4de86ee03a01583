import type { Deps } from '../../platform/deps.ts'
import { Unauthorized } from '../../platform/errors.ts'
import type { Principal, UserType } from '../../platform/principal.ts'
import {
  createSession, currentSessionView, emailNewSignin, endSession, reauthenticateSession, type Analytics, type ClientRequest, type SessionView
} from '../sessions/public.ts'
import { findUserById, normalizeEmail, toUserView, type UserRow, type UserView } from '../users/public.ts'
import { listMemberships } from '../workspaces/public.ts'
import { issueTokens, type AuthDeps } from './tokens.ts'
import { signIns } from './counters.ts'
import type { Tokens } from './schemas.ts'

// Every way in (password, one-time code, sign-up) ends here, once the credentials are judged.

/** What a sign-in needs to know about the request. */
export interface SignInContext {
  client: ClientRequest
  analytics?: Analytics
  cookieMode: boolean
  /** The caller's current session, when a signed-in client authenticates again (step-up). */
  current: Principal | null
}

export interface SignedIn {
  user: UserView
  session: SessionView
  tokens: Tokens
  /** Set when the session was created rather than re-authenticated. */
  created: boolean
}

export const invalidCredentials = () => Unauthorized('INVALID_CREDENTIALS', 'The email or password is wrong.')
export const invalidSigninCode = () => Unauthorized('INVALID_CODE', 'The code is wrong, used or expired.', { field: '/body/code', fieldDetail: 'is wrong, used or expired' })

/** The per-account subject for limits and Redis keys: a keyed hash, never the address. */
export function accountSubject (deps: Pick<Deps, 'sealer'>, email: string): string {
  return deps.sealer.lookupHash(`email:${normalizeEmail(email)}`)
}

/** The same for a phone (E.164): codes asked for by phone are limited and kept per number. */
export function phoneSubject (deps: Pick<Deps, 'sealer'>, phone: string): string {
  return deps.sealer.lookupHash(`phone:${phone}`)
}

/**
 * Finishes any successful authentication: a new session, or, for a client that is already
 * signed in as the same user (step-up), a fresh authentication time in its current session.
 */
export async function signIn (deps: AuthDeps, user: UserRow, method: 'password' | 'otp' | 'signup', context: SignInContext, workspaceId?: string | null): Promise<SignedIn> {
  const now = deps.clock.now()
  if (context.current && context.current.userId === user.id && method !== 'signup') {
    const reauthenticated = await reauthenticateSession(deps, context.current.sessionId)
    const session = reauthenticated && await currentSessionView(deps, context.current.sessionId)
    if (reauthenticated && session) {
      const tokens = issueTokens(deps, now, { userId: user.id, sessionId: session.id, userType: user.type as UserType, authTime: reauthenticated.authTime }, reauthenticated.refreshToken)
      deps.metrics.count(signIns, { method })
      return { user: toUserView(user), session, tokens, created: false }
    }
  }
  const memberships = workspaceId === undefined ? await listMemberships(deps.db, user.id) : []
  const { session, refreshToken, newDevice } = await createSession(deps, {
    userId: user.id,
    userType: user.type as UserType,
    // A user in exactly one workspace starts in it.
    workspaceId: workspaceId !== undefined ? workspaceId : memberships.length === 1 ? memberships[0]!.workspaceId : null,
    authMethod: method,
    client: context.client,
    analytics: context.analytics,
    cookieMode: context.cookieMode
  })
  // A password reset or change, a suspension or a deletion that landed while the credentials
  // were judged ended every session it could see, but not this one: now that it is stored, it
  // is checked against the account as it is, and ended if the account moved on.
  if (method !== 'signup' && !await unchangedSince(deps, user)) {
    await endSession(deps, session.id, 'revoked')
    throw method === 'password' ? invalidCredentials() : invalidSigninCode()
  }
  if (newDevice) await emailNewSignin(deps, { email: user.email, name: user.name }, session)
  const tokens = issueTokens(deps, now, {
    userId: user.id, sessionId: session.id, userType: user.type as UserType, authTime: Math.floor(now.getTime() / 1000)
  }, refreshToken)
  deps.metrics.count(signIns, { method })
  return { user: toUserView(user), session: { ...session, current: true }, tokens, created: true }
}

/** Whether the account still signs in as it did when `user` was read (same password, active). */
async function unchangedSince (deps: AuthDeps, user: UserRow): Promise<boolean> {
  const now = await findUserById(deps.db, user.id)
  return now !== undefined && now.status === 'active' && now.passwordHash === user.passwordHash
}
