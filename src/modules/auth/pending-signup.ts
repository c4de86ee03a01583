import type { Deps } from '../../platform/deps.ts'
import type { Analytics } from '../sessions/public.ts'

// A sign-up waiting for its code (SPEC 5.1): one sealed value in Redis (AES-256-GCM; a password
// only as its argon2id hash) under a random id with a 24 h TTL, and its counters beside it.

export const SIGNUP_TTL_MS = 24 * 3600_000
/** At most one code a minute per sign-up. */
export const CODE_COOLDOWN_MS = 60_000

export interface PendingSignup {
  email: string
  name: string
  passwordHash: string | null
  type: 'customer' | 'vendor'
  workspaceName: string | null
  phone: string | null
  /** Where codes go: the email, or by SMS the phone, which the code then verifies (absent: email). */
  verifyBy?: 'email' | 'sms'
  analytics: Analytics | null
  /** The email already has an account: it is told so, and no code can complete this sign-up. */
  accountExists: boolean
  /** Keyed hash of the current code (see SIGNUP_CODE); null once burnt. */
  codeHash: string | null
  /** Too many codes: nothing completes this sign-up any more; it must be started again. */
  burnt?: boolean
  expiresAt: number
}

// A sign-up's own keys share the hash tag of its id (one slot on a Redis Cluster), so they are
// written and deleted together; the by-email and alias keys are only ever touched alone.
export const pendingKey = (id: string) => `signup:{${id}}`
/** How many codes the sign-up has been sent. */
export const codesKey = (id: string) => `signup:{${id}}:codes`
export const cooldownKey = (id: string) => `signup:{${id}}:cooldown`
/** The email's one unfinished sign-up (by account subject). */
export const byEmailKey = (subject: string) => `signup:email:${subject}`
/** A fresh id handed out by resume, standing for the sign-up's own id (which is never revealed). */
export const aliasKey = (id: string) => `signup:alias:${id}`
const sealContext = (id: string) => `signup:${id}`

export async function loadPendingSignup (deps: Pick<Deps, 'redis' | 'sealer'>, id: string): Promise<PendingSignup | null> {
  const sealed = await deps.redis.get(pendingKey(id))
  if (!sealed) return null
  try {
    return deps.sealer.open<PendingSignup>(sealed, sealContext(id))
  } catch {
    // Tampered with, or sealed under another key: as good as absent.
    return null
  }
}

export async function storePendingSignup (deps: Pick<Deps, 'redis' | 'sealer' | 'clock'>, id: string, pending: PendingSignup): Promise<void> {
  const ttl = Math.max(1000, pending.expiresAt - deps.clock.now().getTime())
  await deps.redis.set(pendingKey(id), deps.sealer.seal(pending, sealContext(id)), 'PX', ttl)
}

/** The sign-up an id stands for: itself, or the one a resumed id was handed out for. */
export async function resolveSignupId (deps: Pick<Deps, 'redis'>, id: string): Promise<string> {
  return (await deps.redis.get(aliasKey(id))) ?? id
}

/** Starts a sign-up's one-minute cooldown between codes; false when one is running. */
export async function startCooldown (deps: Pick<Deps, 'redis'>, id: string): Promise<boolean> {
  return await deps.redis.set(cooldownKey(id), '1', 'PX', CODE_COOLDOWN_MS, 'NX') === 'OK'
}
