import type { Deps } from '../../platform/deps.ts'
import { BadRequest, Conflict, NotFound, isUniqueViolation } from '../../platform/errors.ts'
import { consume, type Limit } from '../../platform/limiter.ts'
import { enqueueEmail } from '../../platform/mail.ts'
import { clearTries, issueCode, type CodeKind } from '../../platform/one-time-code.ts'
import { requireRecentAuthentication, type Principal } from '../../platform/principal.ts'
import { bumpProfileVersion } from '../../platform/profile-version.ts'
import { appLink } from '../../platform/public-url.ts'
import { findUserByEmail, findUserById, normalizeEmail, toUserView } from './accounts.ts'
import { emailChangeCodeEmail, emailChangedEmail, signupAccountExistsEmail } from './emails.ts'
import { pendingChangeConfirmed, type PendingChange } from './pending-code.ts'
import type { UserView } from './schemas.ts'

// An email change: the new address proves itself with a code (SPEC 7.2), and only then
// replaces the old one, which is told of it.

const EMAIL_CHANGE_TTL_MS = 15 * 60_000
const EMAIL_CHANGES_PER_HOUR: Limit = { name: 'email-change', max: 5, windowMs: 3600_000 }
/**
 * The code is bound to the user and the new address (hash subject `${userId}:${email}`); its
 * tries are counted per user, since limiter keys must not hold a raw address.
 */
const EMAIL_CHANGE_CODE: CodeKind = { purpose: 'email-change', tries: { name: 'email-change-tries', max: 5, windowMs: EMAIL_CHANGE_TTL_MS } }
const codeSubject = (userId: string, email: string) => `${userId}:${email}`
const pendingKey = (userId: string) => `email-change:${userId}`
interface PendingEmailChange extends PendingChange { email: string }

/** `a***@example.com`: enough for the owner to recognise, not a full address to whoever reads the mail. */
export function maskEmail (email: string): string {
  const at = email.lastIndexOf('@')
  return at <= 0 ? '***' : `${email[0]}***${email.slice(at)}`
}

/**
 * Starts an email change (recent sign-in required). The new address receives a code; an
 * address that already has an account is told so instead, and the answer to the caller is the
 * same either way.
 */
export async function startEmailChange (deps: Deps, principal: Principal, newEmail: string): Promise<{ pendingEmail: string, expiresAt: Date }> {
  requireRecentAuthentication(principal, deps.clock.now())
  // Each start mails a code to an address of the caller's choosing: counted, then judged.
  await consume(deps.redis, EMAIL_CHANGES_PER_HOUR, principal.userId)
  const email = normalizeEmail(newEmail)
  const user = await findUserById(deps.db, principal.userId)
  if (!user) throw NotFound('NOT_FOUND', 'user not found')
  if (email === user.email) throw BadRequest('VALIDATION_FAILED', 'body/email is already your email', { field: '/body/email', fieldDetail: 'is already your email' })
  const taken = await findUserByEmail(deps.db, email)
  const expiresAt = deps.clock.now().getTime() + EMAIL_CHANGE_TTL_MS
  let hash: string | null = null
  if (taken) {
    await enqueueEmail(deps, signupAccountExistsEmail, email, { name: taken.name, signInLink: appLink(deps.config, '/sign-in'), resetLink: appLink(deps.config, '/forgot-password') })
  } else {
    const issued = issueCode(deps, EMAIL_CHANGE_CODE, codeSubject(user.id, email))
    const code = issued.code
    hash = issued.hash
    await enqueueEmail(deps, emailChangeCodeEmail, email, { name: user.name, code, minutes: EMAIL_CHANGE_TTL_MS / 60_000 })
  }
  const pending: PendingEmailChange = { email, codeHash: hash, expiresAt }
  await clearTries(deps.redis, EMAIL_CHANGE_CODE, user.id)
  await deps.redis.set(pendingKey(user.id), deps.sealer.seal(pending, pendingKey(user.id)), 'PX', EMAIL_CHANGE_TTL_MS)
  return { pendingEmail: email, expiresAt: new Date(expiresAt) }
}

export async function confirmEmailChange (deps: Deps, principal: Principal, code: string): Promise<UserView> {
  const { userId } = principal
  const pending = await pendingChangeConfirmed<PendingEmailChange>(deps, EMAIL_CHANGE_CODE, pendingKey(userId), userId, (p) => codeSubject(userId, p.email), code)
  const before = await findUserById(deps.db, userId)
  if (!before) throw NotFound('NOT_FOUND', 'user not found')
  const now = deps.clock.now()
  let row
  try {
    // The code reached the new address: it is proved (verifiedAt), whatever proved the old one.
    row = await deps.db.updateTable('users')
      .set({ email: pending.email, verifiedAt: now, isProfileReverified: true, profileReverifiedAt: now, updatedAt: now, updatedBy: userId })
      .where('id', '=', userId).where('deletedAt', 'is', null)
      .returningAll().executeTakeFirst()
  } catch (err) {
    if (isUniqueViolation(err)) throw Conflict('EMAIL_TAKEN', 'That email now belongs to another account.')
    throw err
  }
  if (!row) throw NotFound('NOT_FOUND', 'user not found')
  await deps.redis.del(pendingKey(userId))
  await clearTries(deps.redis, EMAIL_CHANGE_CODE, userId)
  await bumpProfileVersion(deps, userId)
  // The old address hears of it: if the change was not its owner's doing, they learn at once.
  await enqueueEmail(deps, emailChangedEmail, before.email, {
    name: row.name,
    newEmail: maskEmail(row.email),
    time: now.toISOString(),
    resetLink: appLink(deps.config, '/forgot-password')
  })
  return toUserView(row)
}
