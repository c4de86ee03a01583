import { sameDigest } from '../../platform/crypto.ts'
import { AppError } from '../../platform/errors.ts'
import { hit, reset, type Limit } from '../../platform/limiter.ts'
import { enqueueEmail } from '../../emails.ts'
import type { SmsSender } from '../../platform/sms.ts'
import { findUserByEmail } from '../users/service.ts'
import { accountSubject, invalidSigninCode, signIn, type AuthDeps, type SignedIn, type SignInContext } from './service.ts'

// Passwordless sign-in (SPEC 5.3): a 6-digit code, kept in Redis only as a keyed hash, for
// 10 minutes, 5 attempts, one send per 60 s. The answer to a send never says whether the
// account exists.

export const OTP_TTL_MS = 10 * 60_000
const SEND_COOLDOWN_MS = 60_000
const MAX_ATTEMPTS = 5
const SENDS_PER_HOUR: Limit = { name: 'otp-send', max: 10, windowMs: 3600_000 }
// Tries on the current code, counted before each is judged (one atomic INCR with its expiry).
const CODE_TRIES: Limit = { name: 'otp-tries', max: MAX_ATTEMPTS, windowMs: OTP_TTL_MS }

export type Channel = 'email' | 'sms'

interface StoredCode { hash: string, expiresAt: number }

const codeKey = (subject: string) => `otp:${subject}`
const cooldownKey = (subject: string) => `otp:${subject}:cooldown`

export async function sendSigninCode (deps: AuthDeps & { sms: SmsSender | null }, input: { email: string, channel: Channel }): Promise<void> {
  if (input.channel === 'sms' && !deps.sms) {
    throw new AppError(422, 'CHANNEL_UNAVAILABLE', 'Codes by SMS are not available here; use email.', { errors: [{ pointer: '/body/channel', detail: 'sms is not configured' }] })
  }
  const subject = accountSubject(deps, input.email)
  // One send per minute and ten per hour per account, silently: the answer stays 202.
  if (await deps.redis.set(cooldownKey(subject), '1', 'PX', SEND_COOLDOWN_MS, 'NX') !== 'OK') return
  if ((await hit(deps.redis, SENDS_PER_HOUR, subject)).count > SENDS_PER_HOUR.max) return
  const user = await findUserByEmail(deps.db, input.email)
  if (!user || user.status !== 'active') return
  if (input.channel === 'sms' && !user.phone) return

  const code = deps.random.digits(6)
  const stored: StoredCode = { hash: deps.sealer.secretHash(`otp:${subject}:${code}`), expiresAt: deps.clock.now().getTime() + OTP_TTL_MS }
  await reset(deps.redis, CODE_TRIES, subject)
  await deps.redis.set(codeKey(subject), JSON.stringify(stored), 'PX', OTP_TTL_MS)
  if (input.channel === 'sms') {
    await deps.sms!.send(user.phone!, `Your Bazaar sign-in code is ${code}. It expires in 10 minutes.`)
  } else {
    await enqueueEmail(deps, 'signin-code', user.email, { code, minutes: OTP_TTL_MS / 60_000 })
  }
}

const invalidCode = invalidSigninCode

export async function verifySigninCode (deps: AuthDeps, input: { email: string, code: string }, context: SignInContext): Promise<SignedIn> {
  const subject = accountSubject(deps, input.email)
  const { count: attempts } = await hit(deps.redis, CODE_TRIES, subject)
  const raw = await deps.redis.get(codeKey(subject))
  if (!raw) throw invalidCode()
  const stored = JSON.parse(raw) as StoredCode
  if (attempts > MAX_ATTEMPTS || stored.expiresAt <= deps.clock.now().getTime()) {
    await deps.redis.del(codeKey(subject))
    throw invalidCode()
  }
  if (!sameDigest(deps.sealer.secretHash(`otp:${subject}:${input.code}`), stored.hash)) throw invalidCode()
  // Single use: of two concurrent correct submissions only the one that deletes it signs in.
  if (await deps.redis.del(codeKey(subject)) !== 1) throw invalidCode()
  await reset(deps.redis, CODE_TRIES, subject)
  const user = await findUserByEmail(deps.db, input.email)
  if (!user || user.status !== 'active') throw invalidCode()
  return signIn(deps, user, 'otp', context)
}
