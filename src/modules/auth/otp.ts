import { Unprocessable } from '../../platform/errors.ts'
import { hit, type Limit } from '../../platform/limiter.ts'
import { enqueueEmail } from '../../platform/mail.ts'
import { clearTries, codeMatches, countTry, issueCode, type CodeKind } from '../../platform/one-time-code.ts'
import type { SmsSender } from '../../platform/sms.ts'
import { findUserByEmail } from '../users/public.ts'
import { signinCodeEmail } from './emails.ts'
import { accountSubject, invalidSigninCode, signIn, type SignedIn, type SignInContext } from './sign-in.ts'
import type { AuthDeps } from './tokens.ts'

// Passwordless sign-in (SPEC 5.3): a 6-digit code, kept in Redis only as a keyed hash, for
// 10 minutes, 5 attempts, one send per 60 s. The answer to a send never says whether the
// account exists.

const OTP_TTL_MS = 10 * 60_000
const SEND_COOLDOWN_MS = 60_000
const SENDS_PER_HOUR: Limit = { name: 'otp-send', max: 10, windowMs: 3600_000 }
const SIGNIN_CODE: CodeKind = { purpose: 'otp', tries: { name: 'otp-tries', max: 5, windowMs: OTP_TTL_MS } }

export type Channel = 'email' | 'sms'

interface StoredCode { hash: string, expiresAt: number }

const codeKey = (subject: string) => `otp:${subject}`
const cooldownKey = (subject: string) => `otp:${subject}:cooldown`

export async function sendSigninCode (deps: AuthDeps & { sms: SmsSender | null }, input: { email: string, channel: Channel }): Promise<void> {
  if (input.channel === 'sms' && !deps.sms) {
    throw Unprocessable('CHANNEL_UNAVAILABLE', 'Codes by SMS are not available here; use email.', { field: '/body/channel', fieldDetail: 'sms is not configured' })
  }
  const subject = accountSubject(deps, input.email)
  // One send per minute and ten per hour per account, silently: the answer stays 202.
  if (await deps.redis.set(cooldownKey(subject), '1', 'PX', SEND_COOLDOWN_MS, 'NX') !== 'OK') return
  if ((await hit(deps.redis, SENDS_PER_HOUR, subject)).count > SENDS_PER_HOUR.max) return
  const user = await findUserByEmail(deps.db, input.email)
  if (!user || user.status !== 'active') return
  if (input.channel === 'sms' && !user.phone) return

  const { code, hash } = issueCode(deps, SIGNIN_CODE, subject)
  const stored: StoredCode = { hash, expiresAt: deps.clock.now().getTime() + OTP_TTL_MS }
  await clearTries(deps.redis, SIGNIN_CODE, subject)
  await deps.redis.set(codeKey(subject), JSON.stringify(stored), 'PX', OTP_TTL_MS)
  if (input.channel === 'sms') {
    await deps.sms!.send(user.phone!, `Your Bazaar sign-in code is ${code}. It expires in 10 minutes.`)
  } else {
    await enqueueEmail(deps, signinCodeEmail, user.email, { code, minutes: OTP_TTL_MS / 60_000 })
  }
}

export async function verifySigninCode (deps: AuthDeps, input: { email: string, code: string }, context: SignInContext): Promise<SignedIn> {
  const subject = accountSubject(deps, input.email)
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
  const user = await findUserByEmail(deps.db, input.email)
  if (!user || user.status !== 'active') throw invalidSigninCode()
  return signIn(deps, user, 'otp', context)
}
