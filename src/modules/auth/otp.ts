import { BadRequest, Unprocessable } from '../../platform/errors.ts'
import { hit, type Limit } from '../../platform/limiter.ts'
import { enqueueEmail } from '../../platform/mail.ts'
import { clearTries, codeMatches, countTry, issueCode, type CodeKind } from '../../platform/one-time-code.ts'
import { enqueueSms, smsChannelAvailable } from '../../platform/sms.ts'
import { smsBudgetAllows } from '../../platform/sms-budget.ts'
import { findUserByEmail, findUserByVerifiedPhone, markEmailVerified, type UserRow } from '../users/public.ts'
import { signinCodeEmail } from './emails.ts'
import { accountSubject, invalidSigninCode, phoneSubject, signIn, type SignedIn, type SignInContext } from './sign-in.ts'
import type { AuthDeps } from './tokens.ts'

// Passwordless sign-in (SPEC 5.3): a 6-digit code, kept in Redis only as a keyed hash, for
// 10 minutes, 5 attempts, one send per 60 s. It goes by email, or by SMS to a verified phone,
// asked for by email (channel: sms) or by the phone itself. The answer to a send never says
// whether the account exists.

const OTP_TTL_MS = 10 * 60_000
const SEND_COOLDOWN_MS = 60_000
const SENDS_PER_HOUR: Limit = { name: 'otp-send', max: 10, windowMs: 3600_000 }
const SIGNIN_CODE: CodeKind = { purpose: 'otp', tries: { name: 'otp-tries', max: 5, windowMs: OTP_TTL_MS } }

export type Channel = 'email' | 'sms'
/** Who asks for a code: an email (by email, or by SMS to its verified phone) or a verified phone. */
export type OtpTarget = { email: string, phone?: undefined } | { phone: string, email?: undefined }

/**
 * `channel`: where the code went; one that went by email proves the email when it signs in.
 * `sentTo`: the phone a texted code went to (its subject); the code signs in only while that is
 * still the account's verified phone (a password reset in between takes the phone off).
 */
interface StoredCode { hash: string, expiresAt: number, channel?: Channel, sentTo?: string }

/** The account's verified phone, as a subject; null without one. */
const verifiedPhoneOf = (deps: AuthDeps, user: UserRow) => user.phone !== null && user.phoneVerifiedAt !== null ? phoneSubject(deps, user.phone) : null

const codeKey = (subject: string) => `otp:${subject}`
const cooldownKey = (subject: string) => `otp:${subject}:cooldown`

export const signinCodeText = (code: string) => `Your Bazaar sign-in code is ${code}. It expires in 10 minutes.`

/** Exactly one of email and phone; a phone is its own channel. 400 naming the field otherwise. */
export function otpTarget (body: { email?: string, phone?: string, channel?: Channel }): OtpTarget & { channel: Channel } {
  if (body.email !== undefined && body.phone !== undefined) {
    throw BadRequest('VALIDATION_FAILED', 'body/phone cannot be given with body/email', { field: '/body/phone', fieldDetail: 'give email or phone, not both' })
  }
  if (body.phone !== undefined) {
    if (body.channel === 'email') throw BadRequest('VALIDATION_FAILED', 'body/channel must be sms with a phone', { field: '/body/channel', fieldDetail: 'must be sms (or left out) with a phone' })
    return { phone: body.phone, channel: 'sms' }
  }
  if (body.email === undefined) throw BadRequest('VALIDATION_FAILED', 'body/email is required (or body/phone)', { field: '/body/email', fieldDetail: 'is required (or phone)' })
  return { email: body.email, channel: body.channel ?? 'email' }
}

const subjectOf = (deps: AuthDeps, target: OtpTarget) => target.phone !== undefined ? phoneSubject(deps, target.phone) : accountSubject(deps, target.email)

/** One send per minute and ten per hour per subject; false when it is over either (skipped silently). */
async function withinSendLimits (deps: AuthDeps, subject: string): Promise<boolean> {
  if (await deps.redis.set(cooldownKey(subject), '1', 'PX', SEND_COOLDOWN_MS, 'NX') !== 'OK') return false
  return (await hit(deps.redis, SENDS_PER_HOUR, subject)).count <= SENDS_PER_HOUR.max
}

async function accountOf (deps: AuthDeps, target: OtpTarget): Promise<UserRow | undefined> {
  const user = target.phone !== undefined ? await findUserByVerifiedPhone(deps.db, target.phone) : await findUserByEmail(deps.db, target.email)
  return user?.status === 'active' ? user : undefined
}

export async function sendSigninCode (deps: AuthDeps, input: OtpTarget & { channel: Channel, ip: string }): Promise<void> {
  if (input.channel === 'sms' && !smsChannelAvailable(deps.config)) {
    const field = input.phone !== undefined ? '/body/phone' : '/body/channel'
    throw Unprocessable('CHANNEL_UNAVAILABLE', 'Codes by SMS are not available here; use email.', { field, fieldDetail: 'sms is not configured' })
  }
  const subject = subjectOf(deps, input)
  // The answer stays 202 whatever is skipped.
  if (!await withinSendLimits(deps, subject)) return
  const user = await accountOf(deps, input)
  if (!user) return
  const phone = verifiedPhoneOf(deps, user)
  if (input.channel === 'sms') {
    // By SMS only to a phone that proved itself: an unverified one could be anybody's.
    if (phone === null) return
    // Texts are limited per destination too, however asked for (by email or by the phone).
    if (phone !== subject && !await withinSendLimits(deps, phone)) return
    if (!await smsBudgetAllows(deps, input.ip)) return
  }

  const { code, hash } = issueCode(deps, SIGNIN_CODE, subject)
  const stored: StoredCode = {
    hash,
    expiresAt: deps.clock.now().getTime() + OTP_TTL_MS,
    channel: input.channel,
    ...(input.channel === 'sms' && phone !== null ? { sentTo: phone } : {})
  }
  // One live code per account: a new one voids the one asked for the other way (by email or by
  // phone), so alternating the two gets neither a second code nor a second budget of tries.
  const other = input.phone !== undefined ? accountSubject(deps, user.email) : phone
  if (other !== null) await deps.redis.del(codeKey(other))
  await clearTries(deps.redis, SIGNIN_CODE, subject)
  await deps.redis.set(codeKey(subject), JSON.stringify(stored), 'PX', OTP_TTL_MS)
  if (input.channel === 'sms') {
    await enqueueSms(deps, 'signin-code', { to: user.phone!, text: signinCodeText(code) })
  } else {
    await enqueueEmail(deps, signinCodeEmail, user.email, { code, minutes: OTP_TTL_MS / 60_000 })
  }
}

export async function verifySigninCode (deps: AuthDeps, input: OtpTarget & { code: string }, context: SignInContext): Promise<SignedIn> {
  const subject = subjectOf(deps, input)
  const withinTries = await countTry(deps.redis, SIGNIN_CODE, subject)
  const raw = await deps.redis.get(codeKey(subject))
  if (!raw) throw invalidSigninCode()
  const stored = JSON.parse(raw) as StoredCode
  if (!withinTries || stored.expiresAt <= deps.clock.now().getTime()) {
    await deps.redis.del(codeKey(subject))
    throw invalidSigninCode()
  }
  if (!codeMatches(deps.sealer, SIGNIN_CODE, subject, input.code, stored.hash)) throw invalidSigninCode()
  // Single use: of two concurrent correct submissions only the one that deletes it signs in.
  if (await deps.redis.del(codeKey(subject)) !== 1) throw invalidSigninCode()
  await clearTries(deps.redis, SIGNIN_CODE, subject)
  let user = await accountOf(deps, input)
  if (!user || (stored.channel === 'sms' && stored.sentTo !== verifiedPhoneOf(deps, user))) throw invalidSigninCode()
  // A code that went by email proves the email (an SMS sign-up left it unproved).
  if (stored.channel === 'email' && user.verifiedAt === null) user = await markEmailVerified(deps, user.id) ?? user
  return signIn(deps, user, 'otp', context)
}
