import { sql } from 'kysely'
import type { Queryable } from '../../platform/db.ts'
import type { Deps } from '../../platform/deps.ts'
import { BadRequest, NotFound, Unprocessable } from '../../platform/errors.ts'
import { consume, type Limit } from '../../platform/limiter.ts'
import { enqueueEmail } from '../../platform/mail.ts'
import { clearTries, issueCode, type CodeKind } from '../../platform/one-time-code.ts'
import { requireRecentAuthentication, type Principal } from '../../platform/principal.ts'
import { bumpProfileVersion } from '../../platform/profile-version.ts'
import { appLink } from '../../platform/public-url.ts'
import { enqueueSms, smsChannelAvailable } from '../../platform/sms.ts'
import { consumeSmsBudget } from '../../platform/sms-budget.ts'
import { findUserById, toUserView, type UserRow } from './accounts.ts'
import { phoneAddedEmail } from './emails.ts'
import { pendingChangeConfirmed, type PendingChange } from './pending-code.ts'
import type { UserView } from './schemas.ts'

// A phone proves itself with a code sent by SMS (issue 15), from sign-up (auth) or here, for a
// signed-in user adding or replacing theirs. Only a verified phone receives sign-in codes.

const PHONE_CODE_TTL_MS = 10 * 60_000
// Each start texts a number of the caller's choosing: capped per account and per number.
const PHONE_STARTS_PER_USER: Limit = { name: 'phone-verify', max: 5, windowMs: 3600_000 }
const PHONE_STARTS_PER_NUMBER: Limit = { name: 'phone-verify-number', max: 5, windowMs: 3600_000 }
/** Bound to the user and the number (subject `${userId}:${phone}`); tries counted per user. */
const PHONE_CODE: CodeKind = { purpose: 'phone-verify', tries: { name: 'phone-verify-tries', max: 5, windowMs: PHONE_CODE_TTL_MS } }
const pendingKey = (userId: string) => `phone-verify:${userId}`
/** The first key of the two-key advisory locks on numbers (a space of its own: no other lock uses it). */
const PHONE_LOCK_SPACE = 15_001
interface PendingPhone extends PendingChange { phone: string }

/** The one live account whose verified phone this is, if any. */
export async function findUserByVerifiedPhone (db: Queryable, phone: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll()
    .where('phone', '=', phone).where('phoneVerifiedAt', 'is not', null).where('deletedAt', 'is', null)
    .executeTakeFirst()
}

/**
 * Whoever proves a number now holds it: numbers are recycled, so another account that verified
 * it before keeps it as a contact but no longer receives sign-in codes on it. Run in the
 * transaction that marks the new holder (one verified holder: users_verified_phone). The
 * number's lock, held to the commit, queues two transactions proving it at once: under read
 * committed the second would otherwise release nothing (the first's row is not committed yet)
 * and hit the unique index.
 */
export async function releaseVerifiedPhone (trx: Queryable, phone: string, now: Date): Promise<string[]> {
  await sql`select pg_advisory_xact_lock(${sql.lit(PHONE_LOCK_SPACE)}, hashtext(${phone}))`.execute(trx)
  const released = await trx.updateTable('users').set({ phoneVerifiedAt: null, updatedAt: now })
    .where('phone', '=', phone).where('phoneVerifiedAt', 'is not', null).returning('id').execute()
  return released.map((r) => r.id)
}

export async function startPhoneVerification (deps: Deps, principal: Principal, phone: string, ip: string): Promise<{ phone: string, expiresAt: Date }> {
  if (!smsChannelAvailable(deps.config)) {
    throw Unprocessable('CHANNEL_UNAVAILABLE', 'SMS is not available here.', { field: '/body/phone', fieldDetail: 'no SMS provider is configured' })
  }
  requireRecentAuthentication(principal, deps.clock.now())
  await consume(deps.redis, PHONE_STARTS_PER_USER, principal.userId)
  await consume(deps.redis, PHONE_STARTS_PER_NUMBER, deps.sealer.lookupHash(`phone:${phone}`))
  const user = await findUserById(deps.db, principal.userId)
  if (!user) throw NotFound('NOT_FOUND', 'user not found')
  if (user.phone === phone && user.phoneVerifiedAt !== null) {
    throw BadRequest('VALIDATION_FAILED', 'body/phone is already your verified phone', { field: '/body/phone', fieldDetail: 'is already your verified phone' })
  }
  await consumeSmsBudget(deps, ip)
  const { code, hash } = issueCode(deps, PHONE_CODE, `${user.id}:${phone}`)
  const expiresAt = deps.clock.now().getTime() + PHONE_CODE_TTL_MS
  const pending: PendingPhone = { phone, codeHash: hash, expiresAt }
  await enqueueSms(deps, 'phone-verify-code', { to: phone, text: `Your Bazaar code to confirm this phone is ${code}. It expires in 10 minutes.` })
  await clearTries(deps.redis, PHONE_CODE, user.id)
  await deps.redis.set(pendingKey(user.id), deps.sealer.seal(pending, pendingKey(user.id)), 'PX', PHONE_CODE_TTL_MS)
  return { phone, expiresAt: new Date(expiresAt) }
}

export async function confirmPhoneVerification (deps: Deps, principal: Principal, code: string): Promise<UserView> {
  const { userId } = principal
  const pending = await pendingChangeConfirmed<PendingPhone>(deps, PHONE_CODE, pendingKey(userId), userId, (p) => `${userId}:${p.phone}`, code)
  const now = deps.clock.now()
  const { row, released } = await deps.db.transaction().execute(async (trx) => ({
    released: await releaseVerifiedPhone(trx, pending.phone, now),
    row: await trx.updateTable('users').set({ phone: pending.phone, phoneVerifiedAt: now, updatedAt: now, updatedBy: userId })
      .where('id', '=', userId).where('deletedAt', 'is', null)
      .returningAll().executeTakeFirst()
  }))
  if (!row) throw NotFound('NOT_FOUND', 'user not found')
  // Deleted once the phone is saved, so a failure leaves the code to try again. Two concurrent
  // correct submissions both save the same thing; only the one that deletes it tells the owner.
  const first = await deps.redis.del(pendingKey(userId)) === 1
  await clearTries(deps.redis, PHONE_CODE, userId)
  for (const id of new Set([userId, ...released])) await bumpProfileVersion(deps, id)
  if (first) await emailPhoneAdded(deps, row)
  return toUserView(row)
}

/**
 * Tells the account's mailbox that a phone proved itself on it (added here, or by an SMS
 * sign-up): if that was not the owner, a password reset takes the phone off sign-in again.
 */
export async function emailPhoneAdded (deps: Pick<Deps, 'queues' | 'sealer' | 'config' | 'clock'>, user: Pick<UserRow, 'email' | 'name' | 'phone'>): Promise<void> {
  await enqueueEmail(deps, phoneAddedEmail, user.email, {
    name: user.name,
    phoneEnding: (user.phone ?? '').slice(-4),
    time: deps.clock.now().toISOString(),
    resetLink: appLink(deps.config, '/forgot-password')
  })
}
