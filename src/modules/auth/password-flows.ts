import type { Deps } from '../../platform/deps.ts'
import { BadRequest, Unauthorized } from '../../platform/errors.ts'
import { consume, hit, reset, type Limit } from '../../platform/limiter.ts'
import { enqueueEmail } from '../../platform/mail.ts'
import { hashPassword, verifyAgainstNothing, verifyPassword } from '../../platform/passwords.ts'
import { requireRecentAuthentication, type Principal } from '../../platform/principal.ts'
import { appLink } from '../../platform/public-url.ts'
import { endUserSessions } from '../sessions/public.ts'
import { findUserByEmail, findUserById, setPasswordHash } from '../users/public.ts'
import { passwordChecks } from './counters.ts'
import { passwordChangedEmail, passwordResetEmail } from './emails.ts'
import { accountSubject, invalidCredentials, signIn, type SignedIn, type SignInContext } from './sign-in.ts'
import type { AuthDeps } from './tokens.ts'

// Passwords: signing in with one, and changing or resetting it.

// Password tries per account since the last success: past this, the account answers 429 until
// the window passes. A try is counted before it is judged (INCR, then compare), so parallel
// guesses cannot all pass a check made before any of them was counted.
const LOGIN_FAILURES: Limit = { name: 'login-fail', max: 10, windowMs: 15 * 60_000 }
const PASSWORD_RESETS: Limit = { name: 'pw-reset', max: 5, windowMs: 60 * 60_000 }
const RESET_TTL_MS = 60 * 60_000

export async function login (deps: AuthDeps, input: { email: string, password: string }, context: SignInContext): Promise<SignedIn> {
  const subject = accountSubject(deps, input.email)
  await consume(deps.redis, LOGIN_FAILURES, subject)
  const user = await findUserByEmail(deps.db, input.email)
  const ok = user?.passwordHash ? await verifyPassword(user.passwordHash, input.password) : await verifyAgainstNothing(input.password)
  deps.metrics.count(passwordChecks, { against: user?.passwordHash ? 'account' : 'stand_in' })
  if (!ok || !user || user.status !== 'active') throw invalidCredentials()
  await reset(deps.redis, LOGIN_FAILURES, subject)
  return signIn(deps, user, 'password', context)
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
export async function forgotPassword (deps: Deps, email: string): Promise<void> {
  const subject = accountSubject(deps, email)
  const { count } = await hit(deps.redis, PASSWORD_RESETS, subject)
  const user = await findUserByEmail(deps.db, email)
  if (!user || user.status !== 'active' || count > PASSWORD_RESETS.max) return
  const token = deps.random.token(32)
  const tokenHash = deps.sealer.secretHash(token)
  // Not one MULTI: the two keys sit in different slots of a cluster. Either write alone leaves
  // a dead link (a link works only with both), never a live one.
  await Promise.all([
    deps.redis.set(resetKey(tokenHash), deps.sealer.seal({ userId: user.id, email: user.email }, 'pwreset'), 'PX', RESET_TTL_MS),
    deps.redis.multi().hset(accountResetsKey(user.id), tokenHash, '1').pexpire(accountResetsKey(user.id), RESET_TTL_MS).exec()
  ])
  await enqueueEmail(deps, passwordResetEmail, user.email, {
    name: user.name,
    link: appLink(deps.config, `/reset-password?token=${encodeURIComponent(token)}`),
    minutes: RESET_TTL_MS / 60_000
  })
}

/**
 * Sets the new password and ends every session of the account; the link proved the email, and
 * the phone must prove itself again (setPasswordHash). The token works once, and the reset
 * voids every other link of the account.
 */
export async function resetPassword (deps: Deps, token: string, password: string): Promise<void> {
  const tokenHash = deps.sealer.secretHash(token)
  const sealed = await deps.redis.getdel(resetKey(tokenHash))
  const link = sealed ? deps.sealer.open<{ userId: string, email?: string }>(sealed, 'pwreset') : null
  // Claims the link and voids every other one in one step: of two links used at once, one wins.
  const claimed = link !== null && await claimResetLink(deps, link.userId, tokenHash)
  const user = claimed ? await findUserById(deps.db, link.userId) : undefined
  if (!user || user.status !== 'active' || user.email !== link?.email) throw BadRequest('INVALID_TOKEN', 'The reset link is invalid, used or expired.', { field: '/body/token', fieldDetail: 'is invalid, used or expired' })
  await setPasswordHash(deps, user.id, await hashPassword(password), true)
  await endUserSessions(deps, user.id, 'password_reset')
  await reset(deps.redis, LOGIN_FAILURES, accountSubject(deps, user.email))
  await enqueueEmail(deps, passwordChangedEmail, user.email, { name: user.name, time: deps.clock.now().toISOString() })
}

/** Changes (or first sets) the password; other sessions end, this one stays; reset links die. */
export async function changePassword (deps: Deps, principal: Principal, input: { currentPassword?: string, newPassword: string }): Promise<void> {
  requireRecentAuthentication(principal, deps.clock.now())
  const user = await findUserById(deps.db, principal.userId)
  if (!user) throw Unauthorized('SESSION_ENDED', 'The account no longer exists.')
  if (user.passwordHash) {
    if (input.currentPassword === undefined) throw BadRequest('VALIDATION_FAILED', 'body/currentPassword is required to change an existing password', { field: '/body/currentPassword', fieldDetail: 'is required to change an existing password' })
    const subject = accountSubject(deps, user.email)
    await consume(deps.redis, LOGIN_FAILURES, subject)
    if (!await verifyPassword(user.passwordHash, input.currentPassword)) {
      throw Unauthorized('INVALID_CREDENTIALS', 'The current password is wrong.', { field: '/body/currentPassword', fieldDetail: 'is wrong' })
    }
    await reset(deps.redis, LOGIN_FAILURES, subject)
  }
  await setPasswordHash(deps, user.id, await hashPassword(input.newPassword))
  await voidResetLinks(deps, user.id)
  await endUserSessions(deps, user.id, 'password_reset', principal.sessionId)
  await enqueueEmail(deps, passwordChangedEmail, user.email, { name: user.name, time: deps.clock.now().toISOString() })
}
