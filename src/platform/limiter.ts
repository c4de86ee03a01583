import type { RedisClient } from './redis.ts'
import { TooManyRequests, retryAfter } from './errors.ts'
import { withScripts, type RedisScript } from './redis.ts'

// Fixed-window counters in Redis for limits the HTTP rate limiter cannot key (per account,
// per sign-up): shared by every API copy. Subjects are keyed hashes, never raw emails.

export interface Limit {
  /** Key namespace, e.g. 'login-fail'. */
  name: string
  max: number
  windowMs: number
}

// One round trip: count the hit and, on the first hit of a window, start the window.
const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { n, redis.call('PTTL', KEYS[1]) }`

/** Defined on the client when it is created (see RedisScript). */
export const limiterScripts: readonly RedisScript[] = [{ name: 'limiterHit', numberOfKeys: 1, lua: HIT }]

type LimiterRedis = RedisClient & {
  limiterHit: (key: string, windowMs: number) => Promise<[number, number]>
}

const client = (redis: RedisClient) => withScripts<LimiterRedis>(redis, limiterScripts)

const keyOf = (limit: Limit, subject: string) => `limit:${limit.name}:${subject}`

/** Counts one hit; returns the count in the current window and the ms until it resets. */
export async function hit (redis: RedisClient, limit: Limit, subject: string): Promise<{ count: number, resetMs: number }> {
  const [count, ttl] = await client(redis).limiterHit(keyOf(limit, subject), limit.windowMs)
  return { count, resetMs: ttl > 0 ? ttl : limit.windowMs }
}

/** Throws 429 (with retry-after) when the subject has used up the window, without counting. */
export async function ensureUnder (redis: RedisClient, limit: Limit, subject: string): Promise<void> {
  const key = keyOf(limit, subject)
  const [count, ttl] = await redis.multi().get(key).pttl(key).exec() as [[null, string | null], [null, number]]
  if (Number(count[1] ?? 0) >= limit.max) {
    const wait = Math.max(1, Math.ceil((ttl[1] > 0 ? ttl[1] : limit.windowMs) / 1000))
    throw TooManyRequests('RATE_LIMITED', `Too many attempts; retry in ${wait} s.`, { headers: retryAfter(wait) })
  }
}

/** Counts a hit and throws 429 when it goes over the limit. */
export async function consume (redis: RedisClient, limit: Limit, subject: string): Promise<void> {
  const { count, resetMs } = await hit(redis, limit, subject)
  if (count > limit.max) {
    const wait = Math.max(1, Math.ceil(resetMs / 1000))
    throw TooManyRequests('RATE_LIMITED', `Too many attempts; retry in ${wait} s.`, { headers: retryAfter(wait) })
  }
}

export async function reset (redis: RedisClient, limit: Limit, subject: string): Promise<void> {
  await redis.del(keyOf(limit, subject))
}
