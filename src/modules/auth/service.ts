import type { Deps } from '../../platform/deps.ts'
import { AppError, InvalidField, Unauthorized } from '../../platform/errors.ts'
import { consume, hit, reset, type Limit } from '../../platform/limiter.ts'
import { requireRecentAuthentication, type Principal, type UserType } from '../../platform/principal.ts'
import { enqueueEmail } from '../../emails.ts'
import { findUserByEmail, findUserById, normalizeEmail, setPasswordHash, toUserView, type UserRow, type UserView } from '../users/service.ts'
import { listMemberships, type Membership } from '../workspaces/service.ts'
import type { ClientRequest } from '../sessions/device.ts'
import {
  createSession, currentSessionView, endSession, endUserSessions, newSigninEmail, reauthenticateSession, rotateRefreshToken,
  type Analytics, type SessionView
} from '../sessions/service.ts'
import { hashPassword, verifyAgainstNothing, verifyPassword } from './passwords.ts'
import { issueTokens, type SignAccessToken, type Tokens } from './tokens.ts'

export interface AuthDeps extends Deps {
  signAccessToken: SignAccessToken
}

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

// Password tries per account since the last success: past this, the account answers 429 until
// the window passes. A try is counted before it is judged (INCR, then compare), so parallel
// guesses cannot all pass a check made before any of them was counted.
export const LOGIN_FAILURES: Limit = { name: 'login-fail', max: 10, windowMs: 15 * 60_000 }
const PASSWORD_RESETS: Limit = { name: 'pw-reset', max: 5, windowMs: 60 * 60_000 }
const RESET_TTL_MS = 60 * 60_000

export const invalidCredentials = () => new AppError(401, 'INVALID_CREDENTIALS', 'The email or password is wrong.')
export const invalidSigninCode = () => new AppError(401, 'INVALID_CODE', 'The code is wrong, used or expired.', { errors: [{ pointer: '/body/code', detail: 'is wrong, used or expired' }] })

/** The per-account subject for limits and Redis keys: a keyed hash, never the address. */
export function accountSubject (deps: Pick<Deps, 'sealer'>, email: string): string {
  return deps.sealer.lookupHash(`email:${normalizeEmail(email)}`)
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
      const tokens = issueTokens(deps.signAccessToken, deps.config.accessTokenTtl, now, { userId: user.id, sessionId: session.id, userType: user.type as UserType, authTime: reauthenticated.authTime }, reauthenticated.refreshToken)
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
  if (newDevice) await newSigninEmail(deps, { email: user.email, name: user.name }, session)
  const tokens = issueTokens(deps.signAccessToken, deps.config.accessTokenTtl, now, {
    userId: user.id, sessionId: session.id, userType: user.type as UserType, authTime: Math.floor(now.getTime() / 1000)
  }, refreshToken)
  return { user: toUserView(user), session: { ...session, current: true }, tokens, created: true }
}

/** Whether the account still signs in as it did when `user` was read (same password, active). */
async function unchangedSince (deps: AuthDeps, user: UserRow): Promise<boolean> {
  const now = await findUserById(deps.db, user.id)
  return now !== undefined && now.status === 'active' && now.passwordHash === user.passwordHash
}

export async function login (deps: AuthDeps, input: { email: string, password: string }, context: SignInContext): Promise<SignedIn> {
  const subject = accountSubject(deps, input.email)
  await consume(deps.redis, LOGIN_FAILURES, subject)
  const user = await findUserByEmail(deps.db, input.email)
  const ok = user?.passwordHash ? await verifyPassword(user.passwordHash, input.password) : await verifyAgainstNothing(input.password)
  if (!ok || !user || user.status !== 'active') throw invalidCredentials()
  await reset(deps.redis, LOGIN_FAILURES, subject)
  return signIn(deps, user, 'password', context)
}

export async function refresh (deps: AuthDeps, refreshToken: string | undefined): Promise<Tokens> {
  if (!refreshToken) throw Unauthorized('INVALID_REFRESH_TOKEN', 'Send the refresh token in the body or the refresh_token cookie.')
  const outcome = await rotateRefreshToken(deps, refreshToken)
  if (outcome.kind === 'reuse') {
    throw Unauthorized('REFRESH_TOKEN_REUSED', 'This refresh token was already used; the session has been ended. Sign in again.')
  }
  if (outcome.kind !== 'ok') throw Unauthorized('INVALID_REFRESH_TOKEN', 'The refresh token is invalid or its session has ended.')
  const { session } = outcome
  return issueTokens(deps.signAccessToken, deps.config.accessTokenTtl, deps.clock.now(), {
    userId: session.userId, sessionId: outcome.sessionId, userType: session.userType, authTime: session.authTime
  }, outcome.refreshToken)
}

export async function logout (deps: AuthDeps, principal: Principal): Promise<void> {
  await endSession(deps, principal.sessionId, 'logout')
}

export async function logoutEverywhere (deps: AuthDeps, principal: Principal): Promise<void> {
  await endUserSessions(deps, principal.userId, 'logout')
}

export interface MeView { user: UserView, workspaces: Membership[] }

// Clients ask for /auth/me on every page: the answer is kept in the process, keyed by the
// user's profile version, which every change to the user or their memberships bumps in Redis
// (read on the request's one round trip, so every API copy sees a change at once).
const ME_CACHE_LIMIT = 10_000
const meCache = new Map<string, MeView>()

export async function me (deps: AuthDeps, principal: Principal): Promise<MeView> {
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

// A reset link's token is looked up by its keyed hash; it is live only while that hash is also
// in its account's set of outstanding links, so one DEL of the set voids every link at once.
// A link also names the address it was mailed to: once the account's email changes, links sent
// to the old mailbox are dead.
const resetKey = (tokenHash: string) => `pwreset:${tokenHash}`
const accountResetsKey = (userId: string) => `pwreset:user:${userId}`

/** Voids every outstanding reset link of the account (after a change; a reset does it as it claims its link). */
async function voidResetLinks (deps: Pick<Deps, 'redis'>, userId: string): Promise<void> {
  await deps.redis.del(accountResetsKey(userId))
}

/** Whether the link was outstanding; either way, none of the account's links is any more. */
async function claimResetLink (deps: Pick<Deps, 'redis'>, userId: string, tokenHash: string): Promise<boolean> {
  const [outstanding] = await deps.redis.multi().hexists(accountResetsKey(userId), tokenHash).del(accountResetsKey(userId)).exec() ?? []
  return outstanding?.[1] === 1
}

/** Always the same answer; only an active account with that email gets a link. */
export async function forgotPassword (deps: AuthDeps, email: string): Promise<void> {
  const subject = accountSubject(deps, email)
  const { count } = await hit(deps.redis, PASSWORD_RESETS, subject)
  const user = await findUserByEmail(deps.db, email)
  if (!user || user.status !== 'active' || count > PASSWORD_RESETS.max) return
  const token = deps.random.token(32)
  const tokenHash = deps.sealer.secretHash(token)
  await deps.redis.multi()
    .set(resetKey(tokenHash), deps.sealer.seal({ userId: user.id, email: user.email }, 'pwreset'), 'PX', RESET_TTL_MS)
    .hset(accountResetsKey(user.id), tokenHash, '1')
    .pexpire(accountResetsKey(user.id), RESET_TTL_MS)
    .exec()
  await enqueueEmail(deps, 'password-reset', user.email, {
    name: user.name,
    link: `${deps.config.publicUrl}/reset-password?token=${encodeURIComponent(token)}`,
    minutes: RESET_TTL_MS / 60_000
  })
}

/**
 * Sets the new password and ends every session of the account. The token works once, and the
 * reset voids every other link of the account.
 */
export async function resetPassword (deps: AuthDeps, token: string, password: string): Promise<void> {
  const tokenHash = deps.sealer.secretHash(token)
  const sealed = await deps.redis.getdel(resetKey(tokenHash))
  const link = sealed ? deps.sealer.open<{ userId: string, email?: string }>(sealed, 'pwreset') : null
  // Claims the link and voids every other one in one step: of two links used at once, one wins.
  const claimed = link !== null && await claimResetLink(deps, link.userId, tokenHash)
  const user = claimed ? await findUserById(deps.db, link.userId) : undefined
  if (!user || user.status !== 'active' || user.email !== link?.email) throw new AppError(400, 'INVALID_TOKEN', 'The reset link is invalid, used or expired.', { errors: [{ pointer: '/body/token', detail: 'is invalid, used or expired' }] })
  await setPasswordHash(deps, user.id, await hashPassword(password))
  await endUserSessions(deps, user.id, 'password_reset')
  await reset(deps.redis, LOGIN_FAILURES, accountSubject(deps, user.email))
  await enqueueEmail(deps, 'password-changed', user.email, { name: user.name, time: deps.clock.now().toISOString() })
}

/** Changes (or first sets) the password; other sessions end, this one stays; reset links die. */
export async function changePassword (deps: AuthDeps, principal: Principal, input: { currentPassword?: string, newPassword: string }): Promise<void> {
  requireRecentAuthentication(principal, deps.clock.now())
  const user = await findUserById(deps.db, principal.userId)
  if (!user) throw Unauthorized('SESSION_ENDED', 'The account no longer exists.')
  if (user.passwordHash) {
    if (input.currentPassword === undefined) throw InvalidField('/body/currentPassword', 'is required to change an existing password')
    const subject = accountSubject(deps, user.email)
    await consume(deps.redis, LOGIN_FAILURES, subject)
    if (!await verifyPassword(user.passwordHash, input.currentPassword)) {
      throw new AppError(401, 'INVALID_CREDENTIALS', 'The current password is wrong.', { errors: [{ pointer: '/body/currentPassword', detail: 'is wrong' }] })
    }
    await reset(deps.redis, LOGIN_FAILURES, subject)
  }
  await setPasswordHash(deps, user.id, await hashPassword(input.newPassword))
  await voidResetLinks(deps, user.id)
  await endUserSessions(deps, user.id, 'password_reset', principal.sessionId)
  await enqueueEmail(deps, 'password-changed', user.email, { name: user.name, time: deps.clock.now().toISOString() })
}
