import type { RedisClient } from './redis.ts'
import { userTag } from './user-slot.ts'

// A per-user counter in Redis, bumped whenever the user's profile or memberships change. Every
// API copy caches a user's views against it, and the session check reads it in the same round
// trip, so one INCR makes those caches stale everywhere at once.

// Tagged with the user's bucket: the session check's script reads it with the session's keys.
export const profileVersionKey = (userId: string) => `user:${userTag(userId)}:${userId}:ver`

/** Marks cached views of a user (profile, memberships) stale on every API copy at once. */
export async function bumpProfileVersion (deps: { redis: RedisClient }, userId: string): Promise<void> {
  await deps.redis.incr(profileVersionKey(userId))
}

interface CachedView<V> { version: number, value: V, storedAt: number }

/**
 * Views of users kept in the process: one per user, with the profile version it was read at,
 * served only to a request whose session check read that same version. A view is read from
 * the database after the version, and writers bump the version after they commit, so a hit is
 * never older than the request's version. Entries also expire after `maxAgeMs`: should Redis
 * lose or roll back a counter (a restart from an older snapshot), a version seen before could
 * come back, and this bounds how long a view read under it can be served.
 */
export class ProfileViewCache<V> {
  readonly #entries = new Map<string, CachedView<V>>()
  readonly #limit: number
  readonly #maxAgeMs: number

  constructor (options: { limit: number, maxAgeMs: number }) {
    this.#limit = options.limit
    this.#maxAgeMs = options.maxAgeMs
  }

  get size (): number { return this.#entries.size }

  get (userId: string, version: number, now: number): V | undefined {
    const entry = this.#entries.get(userId)
    if (entry === undefined || entry.version !== version || now - entry.storedAt >= this.#maxAgeMs) return undefined
    return entry.value
  }

  set (userId: string, version: number, value: V, now: number): void {
    // Re-inserted at the end: the first key is the least recently stored, evicted when full.
    if (!this.#entries.delete(userId) && this.#entries.size >= this.#limit) this.#entries.delete(this.#entries.keys().next().value!)
    this.#entries.set(userId, { version, value, storedAt: now })
  }

  delete (userId: string): void {
    this.#entries.delete(userId)
  }
}
