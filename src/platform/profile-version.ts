import type { Redis } from 'ioredis'

// A per-user counter in Redis, bumped whenever the user's profile or memberships change. Every
// API copy caches a user's views against it, and the session check reads it in the same round
// trip, so one INCR makes those caches stale everywhere at once.

export const profileVersionKey = (userId: string) => `user:${userId}:ver`

/** Marks cached views of a user (profile, memberships) stale on every API copy at once. */
export async function bumpProfileVersion (deps: { redis: Redis }, userId: string): Promise<void> {
  await deps.redis.incr(profileVersionKey(userId))
}
