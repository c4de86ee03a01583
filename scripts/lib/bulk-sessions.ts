import { sql } from 'kysely'
import { v7 as uuidv7 } from 'uuid'
import type { Deps } from '../../src/platform/deps.ts'
import { userBucket } from '../../src/platform/user-slot.ts'
import {
  expiresAt, expiryIndex, newSessionFields, sealDetails, sessionBackstopAt, sessionIdOf, sessionKey, userSessionsKey,
  type SessionDetails, type StoredSession
} from '../../src/modules/sessions/store.ts'

// Many sessions at once, for the cleanup benchmark and its tests: users and session rows
// straight into Postgres (a few statements per chunk), and each session's Redis hash, backstop
// expiry, expiry-index entry and user-set membership in the shapes the app stores
// (newSessionFields, the same key helpers), sent together so they go out pipelined.

export interface BulkSessionsOptions {
  users: number
  sessionsPerUser: number
  /** When every session was created and last seen (ms since the epoch). */
  createdAt: number
  idleMs: number
  absoluteMs: number
  /** Users written per chunk. */
  chunkUsers?: number
  onChunk?: (sessionsDone: number) => void
}

const USER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'
const details: SessionDetails = {
  ipAddress: '203.0.113.7',
  countryCode: null,
  city: null,
  latitude: null,
  longitude: null,
  timezone: null,
  locationSource: 'none',
  deviceType: 'desktop',
  deviceName: 'Windows desktop',
  browser: 'Chrome',
  browserVersion: '120.0.0.0',
  os: 'Windows',
  osVersion: '10',
  userAgent: USER_AGENT,
  deviceFingerprint: 'bulk-fingerprint',
  authMethod: 'password',
  referrerUrl: null,
  landingPage: null,
  utmSource: null,
  utmMedium: null,
  utmCampaign: null,
  utmTerm: null,
  utmContent: null
}

export async function createBulkSessions (deps: Pick<Deps, 'db' | 'redis' | 'sealer'>, o: BulkSessionsOptions): Promise<{ userIds: string[], sessionIds: string[] }> {
  const userIds: string[] = []
  const sessionIds: string[] = []
  const chunk = o.chunkUsers ?? 1000
  for (let first = 0; first < o.users; first += chunk) {
    const users = Array.from({ length: Math.min(chunk, o.users - first) }, () => uuidv7())
    const sessions: StoredSession[] = users.flatMap((userId) => Array.from({ length: o.sessionsPerUser }, () => {
      const id = sessionIdOf(uuidv7(), userId)
      return {
        id,
        userId,
        userType: 'customer',
        workspaceId: null,
        sessionType: 'web',
        createdAt: o.createdAt,
        lastSeenAt: o.createdAt,
        idleMs: o.idleMs,
        absoluteExpiresAt: o.createdAt + o.absoluteMs,
        totalRequests: 1,
        pagesVisited: 0,
        actionsPerformed: 0,
        authTime: Math.floor(o.createdAt / 1000),
        sealedDetails: sealDetails(deps.sealer, id, details)
      } satisfies StoredSession
    }))
    await sql`insert into users (id, email, name, type, status, verified_at)
      select id, 'bulk-' || id || '@example.test', 'Bulk User', 'customer', 'active', now() from unnest(${users}::uuid[]) as id`.execute(deps.db)
    await sql`insert into sessions (id, user_id, session_type, auth_method, is_active, ip_address, device_type, device_name, browser,
        browser_version, os, os_version, user_agent, device_fingerprint, total_requests, created_at, last_seen_at, expires_at)
      select v.id, v.user_id, 'web', 'password', true, ${details.ipAddress}, ${details.deviceType}, ${details.deviceName}, ${details.browser},
        ${details.browserVersion}, ${details.os}, ${details.osVersion}, ${USER_AGENT}, ${details.deviceFingerprint}, 1,
        to_timestamp(${o.createdAt / 1000}::float8), to_timestamp(${o.createdAt / 1000}::float8), to_timestamp(v.expires_ms / 1000.0)
      from unnest(${sessions.map((s) => s.id)}::uuid[], ${sessions.map((s) => s.userId)}::uuid[], ${sessions.map((s) => expiresAt(s))}::float8[])
        as v(id, user_id, expires_ms)`.execute(deps.db)

    const byBucket = new Map<string, Array<string | number>>()
    const byUser = new Map<string, string[]>()
    const writes: Array<Promise<unknown>> = []
    for (const s of sessions) {
      writes.push(deps.redis.hset(sessionKey(s.id), newSessionFields(s, 'bulk-refresh-hash-0000000000000000000000000000')))
      writes.push(deps.redis.pexpireat(sessionKey(s.id), sessionBackstopAt(s)))
      const bucket = userBucket(s.userId)
      if (!byBucket.has(bucket)) byBucket.set(bucket, [])
      byBucket.get(bucket)!.push(expiresAt(s), s.id)
      if (!byUser.has(s.userId)) byUser.set(s.userId, [])
      byUser.get(s.userId)!.push(s.id)
    }
    for (const [bucket, entries] of byBucket) writes.push(deps.redis.zadd(expiryIndex(bucket), ...entries))
    for (const [userId, ids] of byUser) writes.push(deps.redis.sadd(userSessionsKey(userId), ...ids))
    await Promise.all(writes)
    userIds.push(...users)
    for (const s of sessions) sessionIds.push(s.id)
    o.onChunk?.(sessionIds.length)
  }
  return { userIds, sessionIds }
}
