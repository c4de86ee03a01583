import type { RedisClient } from './redis.ts'
import type { Random } from './clock.ts'
import { sameDigest, type Sealer } from './crypto.ts'
import { hit, reset, type Limit } from './limiter.ts'

// One-time codes (sign-up, passwordless sign-in, email change): six digits, kept only as a
// keyed hash bound to what the code is for and whom it is for, with a budget of tries per code.
// Each try is counted (one atomic INCR) before it is judged, so parallel guesses cannot exceed
// the budget. A new code starts a new budget: the caller clears the tries once the new hash is
// about to replace the old one, never earlier (a failed send must leave the old code's count).

export interface CodeKind {
  /** Binds the hash to one use: a sign-in code never passes for a sign-up's. */
  purpose: string
  /** Tries on one code, and how long they are remembered (at least the code's lifetime). */
  tries: Limit
}

/** A fresh code for `subject`, and the hash to keep instead of it. */
export function issueCode (deps: { random: Random, sealer: Sealer }, kind: CodeKind, subject: string): { code: string, hash: string } {
  const code = deps.random.digits(6)
  return { code, hash: codeHash(deps.sealer, kind, subject, code) }
}

/** A hash no code matches (16 random bytes stand for the code): for a path that must look like one with a code. */
export function decoyHash (deps: { random: Random, sealer: Sealer }, kind: CodeKind, subject: string): string {
  return codeHash(deps.sealer, kind, subject, deps.random.token(16))
}

export function codeHash (sealer: Sealer, kind: CodeKind, subject: string, code: string): string {
  return sealer.secretHash(`${kind.purpose}:${subject}:${code}`)
}

/** Counts one try on the subject's current code; false once the budget is spent. */
export async function countTry (redis: RedisClient, kind: CodeKind, subject: string): Promise<boolean> {
  const { count } = await hit(redis, kind.tries, subject)
  return count <= kind.tries.max
}

/** Whether `code` is the one `hash` was kept for (constant time). */
export function codeMatches (sealer: Sealer, kind: CodeKind, subject: string, code: string, hash: string | null | undefined): boolean {
  return typeof hash === 'string' && sameDigest(codeHash(sealer, kind, subject, code), hash)
}

/** Forgets the tries: when a new code replaces the old, and once a code has been used. */
export async function clearTries (redis: RedisClient, kind: CodeKind, subject: string): Promise<void> {
  await reset(redis, kind.tries, subject)
}
