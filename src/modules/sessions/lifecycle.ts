import type { Deps } from '../../platform/deps.ts'
import type { UserType } from '../../platform/principal.ts'
import { profileVersionKey } from '../../platform/profile-version.ts'
import { fingerprintOf, parseDevice, sessionTypeOf, type ClientRequest } from './device.ts'
import { networkOf } from './location.ts'
import { hasSeenDevice } from './new-device.ts'
import { newRefreshToken } from './refresh-tokens.ts'
import type { Analytics, SessionView } from './schemas.ts'
import {
  expiresAt, saveNewSession, sealDetails, sessionExpiryIndex, sessionIdOf, sessionKey, sessionOfUser, sessionRedis, userSessionsKey,
  type SessionDetails, type StoredSession
} from './store.ts'
import { storedSessionView } from './views.ts'

// Sessions (SPEC 6): created by every sign-in, checked on every authenticated request, ended by
// logout, revocation, security events (ending.ts) or expiry (expiry.ts); each one written through to Postgres.

export interface NewSession {
  userId: string
  userType: UserType
  workspaceId: string | null
  authMethod: 'password' | 'otp' | 'signup'
  client: ClientRequest
  analytics?: Analytics
  cookieMode: boolean
}

function firstHeader (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** Creates a session in Redis and Postgres; returns it with its first refresh token. */
export async function createSession (deps: Deps, input: NewSession): Promise<{ session: SessionView, refreshToken: string, newDevice: boolean }> {
  const id = sessionIdOf(deps.random.uuid(), input.userId)
  const now = deps.clock.now().getTime()
  const device = parseDevice(firstHeader(input.client.headers['user-agent']))
  const analytics = input.analytics ?? {}
  const details: SessionDetails = {
    ...await networkOf(deps, input.client, analytics),
    ...device,
    deviceFingerprint: fingerprintOf(input.client, analytics.deviceFingerprint ?? firstHeader(input.client.headers['x-device-fingerprint'])),
    authMethod: input.authMethod,
    referrerUrl: analytics.referrerUrl ?? null,
    landingPage: analytics.landingPage ?? null,
    utmSource: analytics.utmSource ?? null,
    utmMedium: analytics.utmMedium ?? null,
    utmCampaign: analytics.utmCampaign ?? null,
    utmTerm: analytics.utmTerm ?? null,
    utmContent: analytics.utmContent ?? null
  }
  const stored: StoredSession = {
    id,
    userId: input.userId,
    userType: input.userType,
    workspaceId: input.workspaceId,
    sessionType: sessionTypeOf(device, input.cookieMode, analytics.sessionType),
    createdAt: now,
    lastSeenAt: now,
    idleMs: deps.config.sessionIdleTtl * 1000,
    absoluteExpiresAt: now + deps.config.refreshTokenTtl * 1000,
    totalRequests: 1,
    pagesVisited: 0,
    actionsPerformed: 0,
    authTime: Math.floor(now / 1000),
    sealedDetails: sealDetails(deps.sealer, id, details)
  }
  const refreshToken = newRefreshToken(deps, id)
  const newDevice = input.authMethod !== 'signup' && !(await hasSeenDevice(deps.db, input.userId, details.deviceFingerprint))

  await deps.db.insertInto('sessions').values({
    id,
    userId: stored.userId,
    workspaceId: stored.workspaceId,
    sessionType: stored.sessionType,
    isActive: true,
    // authMethod comes with the details
    ...details,
    totalRequests: stored.totalRequests,
    createdAt: new Date(now),
    lastSeenAt: new Date(now),
    expiresAt: new Date(expiresAt(stored))
  }).execute()
  await saveNewSession(deps.redis, stored, refreshToken.hash)
  return { session: storedSessionView(deps.sealer, stored), refreshToken: refreshToken.token, newDevice }
}

export interface ActiveSession {
  userId: string
  userType: UserType
  workspaceId: string | null
  authTime: number
  /** Bumped whenever the user's profile or memberships change (see bumpProfileVersion). */
  profileVersion: number
  /** Requests of this session in the current clock minute, this one included. */
  requestsThisMinute: number
}

/**
 * The per-request check: one round trip that confirms the session is live, counts the request,
 * slides its idle expiry and reads the user's profile version. Null when the session has ended
 * or expired. `userId` is the access token's subject; the caller compares it with the result.
 */
export async function touchSession (deps: Pick<Deps, 'redis' | 'clock'>, sessionId: string, userId: string): Promise<ActiveSession | null> {
  // Never the user's session (and, on a cluster, keys of two slots the script could not touch).
  if (!sessionOfUser(sessionId, userId)) return null
  const result = await sessionRedis(deps.redis).sessionTouch(sessionKey(sessionId), sessionExpiryIndex(sessionId), profileVersionKey(userId), deps.clock.now().getTime(), sessionId)
  if (!result) return null
  return { userId: result[0], userType: result[1] as UserType, workspaceId: result[2] || null, authTime: Number(result[3]), profileVersion: Number(result[4]), requestsThisMinute: Number(result[5]) }
}

/** A user's type changed (e.g. promoted to admin): live sessions carry the new type. */
export async function updateSessionsUserType (deps: Pick<Deps, 'redis'>, userId: string, userType: UserType): Promise<void> {
  const ids = await deps.redis.smembers(userSessionsKey(userId))
  const pipeline = deps.redis.pipeline()
  for (const id of ids) pipeline.hset(sessionKey(id), 'typ', userType)
  await pipeline.exec()
}
