import { sql, type Selectable } from 'kysely'
import type { Sessions } from '../../platform/db-types.ts'
import type { Deps } from '../../platform/deps.ts'
import type { Queryable } from '../../platform/db.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import type { UserType } from '../../platform/principal.ts'
import { enqueueEmail } from '../../emails.ts'
import { fingerprintOf, networkOf, parseDevice, sessionTypeOf, type ClientRequest, type SessionType } from './device.ts'
import {
  EXPIRY_INDEX, expiresAt, fromHash, loadSessions, pairsToHash, profileVersionKey, rotateStoredRefreshToken, saveNewSession, sessionKey, sessionRedis, userSessionsKey,
  type SessionDetails, type StoredSession
} from './store.ts'

// Sessions (SPEC 6): created by every sign-in, checked on every authenticated request, ended by
// logout, revocation, security events or expiry; each one written through to Postgres.

export type EndReason = 'logout' | 'revoked' | 'expired' | 'reuse_detected' | 'password_reset' | 'suspended'

export interface Analytics {
  referrerUrl?: string
  landingPage?: string
  utmSource?: string
  utmMedium?: string
  utmCampaign?: string
  utmTerm?: string
  utmContent?: string
  deviceFingerprint?: string
  timezone?: string
  sessionType?: SessionType
}

export interface SessionView extends Omit<SessionDetails, 'authMethod'> {
  id: string
  userId: string
  workspaceId: string | null
  sessionType: SessionType
  isActive: boolean
  totalRequests: number
  pagesVisited: number
  actionsPerformed: number
  createdAt: Date
  lastSeenAt: Date
  expiresAt: Date
  endedAt: Date | null
  endReason: EndReason | null
  sessionDurationSec: number | null
  current?: boolean
}

/** How long after a rotation the previous refresh token still works (concurrent refreshes). */
export const REFRESH_GRACE_MS = 10_000
const REMEMBERED_REFRESH_HASHES = 50

const detailsContext = (id: string) => `session:${id}`
const nextContext = (id: string) => `session-next:${id}`

export interface NewSession {
  userId: string
  userType: UserType
  workspaceId: string | null
  authMethod: 'password' | 'otp' | 'signup'
  client: ClientRequest
  analytics?: Analytics
  cookieMode: boolean
}

function viewOf (deps: Deps, s: StoredSession, ended?: { at: Date, reason: EndReason }): SessionView {
  const { authMethod: _authMethod, ...details } = deps.sealer.open<SessionDetails>(s.sealedDetails, detailsContext(s.id))
  const endedAt = ended?.at ?? null
  return {
    id: s.id,
    userId: s.userId,
    workspaceId: s.workspaceId,
    sessionType: s.sessionType,
    isActive: ended === undefined,
    ...details,
    totalRequests: s.totalRequests,
    pagesVisited: s.pagesVisited,
    actionsPerformed: s.actionsPerformed,
    createdAt: new Date(s.createdAt),
    lastSeenAt: new Date(s.lastSeenAt),
    expiresAt: new Date(expiresAt(s)),
    endedAt,
    endReason: ended?.reason ?? null,
    sessionDurationSec: endedAt ? Math.max(0, Math.round((endedAt.getTime() - s.createdAt) / 1000)) : null
  }
}

/** Splits `<session id>.<secret>`; the secret is stored only as a keyed hash. */
export function parseRefreshToken (token: string): { sessionId: string, secret: string } | null {
  const match = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43,})$/.exec(token)
  return match ? { sessionId: match[1]!, secret: match[2]! } : null
}

export async function hasSeenDevice (db: Queryable, userId: string, fingerprint: string): Promise<boolean> {
  const row = await db.selectFrom('sessions').select('id').where('userId', '=', userId).where('deviceFingerprint', '=', fingerprint).limit(1).executeTakeFirst()
  return row !== undefined
}

/** Creates a session in Redis and Postgres; returns it with its first refresh token. */
export async function createSession (deps: Deps, input: NewSession): Promise<{ session: SessionView, refreshToken: string, newDevice: boolean }> {
  const id = deps.random.uuid()
  const now = deps.clock.now().getTime()
  const device = parseDevice(firstHeader(input.client.headers['user-agent']))
  const analytics = input.analytics ?? {}
  const details: SessionDetails = {
    ...networkOf(input.client, analytics.timezone),
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
    sealedDetails: deps.sealer.seal(details, detailsContext(id))
  }
  const secret = deps.random.token(32)
  const newDevice = input.authMethod !== 'signup' && !(await hasSeenDevice(deps.db, input.userId, details.deviceFingerprint))

  await deps.db.insertInto('sessions').values({
    id,
    userId: stored.userId,
    workspaceId: stored.workspaceId,
    sessionType: stored.sessionType,
    isActive: true,
    ...details,
    // authMethod comes with the details
    totalRequests: stored.totalRequests,
    createdAt: new Date(now),
    lastSeenAt: new Date(now),
    expiresAt: new Date(expiresAt(stored))
  }).execute()
  await saveNewSession(deps.redis, stored, deps.sealer.secretHash(secret))
  return { session: viewOf(deps, stored), refreshToken: `${id}.${secret}`, newDevice }
}

function firstHeader (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
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
  const result = await sessionRedis(deps.redis).sessionTouch(sessionKey(sessionId), EXPIRY_INDEX, profileVersionKey(userId), deps.clock.now().getTime(), sessionId)
  if (!result) return null
  return { userId: result[0], userType: result[1] as UserType, workspaceId: result[2] || null, authTime: Number(result[3]), profileVersion: Number(result[4]), requestsThisMinute: Number(result[5]) }
}

/** Marks cached views of a user (profile, memberships) stale on every API copy at once. */
export async function bumpProfileVersion (deps: Pick<Deps, 'redis'>, userId: string): Promise<void> {
  await deps.redis.incr(profileVersionKey(userId))
}

export type RefreshOutcome =
  | { kind: 'ok', sessionId: string, refreshToken: string, session: Omit<ActiveSession, 'profileVersion' | 'requestsThisMinute'> }
  | { kind: 'reuse' | 'invalid' }

/**
 * Rotates a refresh token: the presented one must be the session's current token, or the one
 * just before it within the grace window (then the same successor is handed out again, so
 * concurrent refreshes from one client agree). Any older token of the session means it was
 * stolen or replayed: the session ends.
 */
export async function rotateRefreshToken (deps: Deps, refreshToken: string): Promise<RefreshOutcome> {
  const parsed = parseRefreshToken(refreshToken)
  if (!parsed) return { kind: 'invalid' }
  const { sessionId, secret } = parsed
  const nextSecret = deps.random.token(32)
  const result = await rotateStoredRefreshToken(deps.redis, {
    sessionId,
    presentedHash: deps.sealer.secretHash(secret),
    nextHash: deps.sealer.secretHash(nextSecret),
    sealedNext: deps.sealer.seal(nextSecret, nextContext(sessionId)),
    now: deps.clock.now().getTime(),
    graceMs: REFRESH_GRACE_MS,
    keep: REMEMBERED_REFRESH_HASHES
  })
  const [kind, userId, userType, workspaceId, authTime, sealedNext] = result
  if (kind === 'reuse') {
    await endSession(deps, sessionId, 'reuse_detected')
    return { kind: 'reuse' }
  }
  if (kind !== 'rotated' && kind !== 'grace') return { kind: 'invalid' }
  const session = { userId: userId!, userType: userType as UserType, workspaceId: workspaceId || null, authTime: Number(authTime) }
  if (kind === 'grace') {
    return { kind: 'ok', sessionId, session, refreshToken: `${sessionId}.${deps.sealer.open<string>(sealedNext!, nextContext(sessionId))}` }
  }
  await flushActivity(deps, sessionId)
  return { kind: 'ok', sessionId, session, refreshToken: `${sessionId}.${nextSecret}` }
}

/** Copies a live session's counters and expiry to Postgres (on refresh: bounded, not per request). */
async function flushActivity (deps: Deps, sessionId: string): Promise<void> {
  const [stored] = await loadSessions(deps.redis, [sessionId])
  if (!stored) return
  await deps.db.updateTable('sessions').set({
    totalRequests: stored.totalRequests,
    pagesVisited: stored.pagesVisited,
    actionsPerformed: stored.actionsPerformed,
    lastSeenAt: new Date(stored.lastSeenAt),
    expiresAt: new Date(expiresAt(stored))
  }).where('id', '=', sessionId).execute()
}

/**
 * Step-up re-authentication in the same session: a fresh authentication time and a new refresh
 * token, rotated exactly as a refresh rotates it (the superseded token keeps its grace window and
 * stays known for reuse detection). Null when the session has ended or expired.
 */
export async function reauthenticateSession (deps: Deps, sessionId: string): Promise<{ refreshToken: string, authTime: number } | null> {
  const now = deps.clock.now().getTime()
  const authTime = Math.floor(now / 1000)
  const nextSecret = deps.random.token(32)
  const [kind] = await rotateStoredRefreshToken(deps.redis, {
    sessionId,
    presentedHash: null,
    nextHash: deps.sealer.secretHash(nextSecret),
    sealedNext: deps.sealer.seal(nextSecret, nextContext(sessionId)),
    now,
    graceMs: REFRESH_GRACE_MS,
    keep: REMEMBERED_REFRESH_HASHES,
    authTime
  })
  return kind === 'rotated' ? { refreshToken: `${sessionId}.${nextSecret}`, authTime } : null
}

async function writeEnded (deps: Deps, ended: Array<{ session: StoredSession, reason: EndReason, at: Date }>): Promise<void> {
  if (ended.length === 0) return
  const rows = ended.map(({ session: s, reason, at }) => sql`(${s.id}::uuid, ${at}::timestamptz, ${reason}, ${s.totalRequests}::int, ${s.pagesVisited}::int, ${s.actionsPerformed}::int, ${new Date(s.lastSeenAt)}::timestamptz, ${Math.max(0, Math.round((at.getTime() - s.createdAt) / 1000))}::int)`)
  await sql`
    update sessions as s set
      is_active = false, ended_at = v.ended_at, end_reason = v.reason,
      total_requests = v.total_requests, pages_visited = v.pages_visited, actions_performed = v.actions_performed,
      last_seen_at = v.last_seen_at, session_duration_sec = v.duration
    from (values ${sql.join(rows)}) as v(id, ended_at, reason, total_requests, pages_visited, actions_performed, last_seen_at, duration)
    where s.id = v.id and s.ended_at is null`.execute(deps.db)
  const pipeline = deps.redis.pipeline()
  for (const { session } of ended) pipeline.srem(userSessionsKey(session.userId), session.id)
  await pipeline.exec()
}

/** Ends one session now. Returns false when it had already ended. */
export async function endSession (deps: Deps, sessionId: string, reason: EndReason): Promise<boolean> {
  const now = deps.clock.now()
  const pairs = await sessionRedis(deps.redis).sessionEnd(sessionKey(sessionId), EXPIRY_INDEX, sessionId, now.getTime(), '0')
  const stored = pairs ? fromHash(sessionId, pairsToHash(pairs)) : null
  if (!stored) return false
  await writeEnded(deps, [{ session: stored, reason, at: now }])
  return true
}

/** Ends every session of a user (except `keep`); returns how many ended. */
export async function endUserSessions (deps: Deps, userId: string, reason: EndReason, keep?: string): Promise<number> {
  const ids = await deps.redis.smembers(userSessionsKey(userId))
  let ended = 0
  for (const id of ids) {
    if (id !== keep && await endSession(deps, id, reason)) ended++
  }
  return ended
}

/** The caller's live sessions, newest first, the current one marked. */
export async function listUserSessions (deps: Deps, userId: string, currentId: string): Promise<SessionView[]> {
  const ids = await deps.redis.smembers(userSessionsKey(userId))
  const now = deps.clock.now().getTime()
  const live = (await loadSessions(deps.redis, ids)).filter((s) => s.userId === userId && expiresAt(s) > now)
  return live.sort((a, b) => b.createdAt - a.createdAt).map((s) => ({ ...viewOf(deps, s), current: s.id === currentId }))
}

export async function userOwnsLiveSession (deps: Deps, userId: string, sessionId: string): Promise<boolean> {
  const [stored] = await loadSessions(deps.redis, [sessionId])
  return stored !== undefined && stored.userId === userId && expiresAt(stored) > deps.clock.now().getTime()
}

export async function recordActivity (deps: Deps, sessionId: string, counts: { pagesVisited?: number, actionsPerformed?: number }): Promise<void> {
  const pipeline = deps.redis.pipeline()
  if (counts.pagesVisited) pipeline.hincrby(sessionKey(sessionId), 'pv', counts.pagesVisited)
  if (counts.actionsPerformed) pipeline.hincrby(sessionKey(sessionId), 'ap', counts.actionsPerformed)
  await pipeline.exec()
}

export async function setSessionWorkspace (deps: Deps, sessionId: string, workspaceId: string | null): Promise<void> {
  await deps.redis.hset(sessionKey(sessionId), 'ws', workspaceId ?? '')
  await deps.db.updateTable('sessions').set({ workspaceId }).where('id', '=', sessionId).execute()
}

export async function currentSessionView (deps: Deps, sessionId: string): Promise<SessionView | null> {
  const [stored] = await loadSessions(deps.redis, [sessionId])
  return stored ? { ...viewOf(deps, stored), current: true } : null
}

/** A user's type changed (e.g. promoted to admin): live sessions carry the new type. */
export async function updateSessionsUserType (deps: Pick<Deps, 'redis'>, userId: string, userType: UserType): Promise<void> {
  const ids = await deps.redis.smembers(userSessionsKey(userId))
  const pipeline = deps.redis.pipeline()
  for (const id of ids) pipeline.hset(sessionKey(id), 'typ', userType)
  await pipeline.exec()
}

/**
 * Finalises expired sessions in batches: removes them from Redis and writes endedAt,
 * endReason = expired and the duration to Postgres. The expiry index is a sorted set, so each
 * batch costs O(log n + batch) and never blocks Redis; each session is ended by exactly one
 * caller even when cleanups overlap.
 */
export async function finalizeExpiredSessions (deps: Deps, batchSize = 500): Promise<number> {
  let total = 0
  for (;;) {
    const now = deps.clock.now()
    const ids = await deps.redis.zrangebyscore(EXPIRY_INDEX, '-inf', now.getTime(), 'LIMIT', 0, batchSize)
    if (ids.length === 0) return total
    const ended: Array<{ session: StoredSession, reason: EndReason, at: Date }> = []
    for (const id of ids) {
      const pairs = await sessionRedis(deps.redis).sessionEnd(sessionKey(id), EXPIRY_INDEX, id, now.getTime(), '1')
      const stored = pairs ? fromHash(id, pairsToHash(pairs)) : null
      // Ended at the moment it expired, not when cleanup happened to run.
      if (stored) ended.push({ session: stored, reason: 'expired', at: new Date(expiresAt(stored)) })
    }
    await writeEnded(deps, ended)
    total += ended.length
    if (ids.length < batchSize) return total
  }
}

// ---- Platform admins: history and statistics from Postgres ----

export interface AdminSessionQuery { userId?: string, workspaceId?: string, active?: boolean, limit: number, cursor?: string }

type SessionRow = Selectable<Sessions>

function rowView (row: SessionRow): SessionView {
  return {
    id: row.id,
    userId: row.userId,
    workspaceId: row.workspaceId,
    sessionType: row.sessionType as SessionType,
    isActive: row.isActive,
    ipAddress: row.ipAddress ?? '',
    countryCode: row.countryCode,
    latitude: row.latitude,
    longitude: row.longitude,
    timezone: row.timezone,
    deviceType: row.deviceType ?? 'unknown',
    deviceName: row.deviceName,
    browser: row.browser,
    browserVersion: row.browserVersion,
    os: row.os,
    osVersion: row.osVersion,
    userAgent: row.userAgent,
    deviceFingerprint: row.deviceFingerprint ?? '',
    referrerUrl: row.referrerUrl,
    landingPage: row.landingPage,
    utmSource: row.utmSource,
    utmMedium: row.utmMedium,
    utmCampaign: row.utmCampaign,
    utmTerm: row.utmTerm,
    utmContent: row.utmContent,
    totalRequests: row.totalRequests,
    pagesVisited: row.pagesVisited,
    actionsPerformed: row.actionsPerformed,
    createdAt: row.createdAt,
    lastSeenAt: row.lastSeenAt,
    expiresAt: row.expiresAt,
    endedAt: row.endedAt,
    endReason: row.endReason as EndReason | null,
    sessionDurationSec: row.sessionDurationSec
  }
}

export async function adminListSessions (deps: Deps, query: AdminSessionQuery): Promise<PageOf<SessionView>> {
  const after = decodeCursor(query.cursor, ['uuid'])
  let q = deps.db.selectFrom('sessions').selectAll()
  if (query.userId) q = q.where('userId', '=', query.userId)
  if (query.workspaceId) q = q.where('workspaceId', '=', query.workspaceId)
  if (query.active !== undefined) q = q.where('isActive', '=', query.active)
  if (after) q = q.where('id', '<', after[0])
  const rows = await q.orderBy('id', 'desc').limit(query.limit + 1).execute()
  const page = toPage(rows, query.limit, rowView, (r) => [r.id])
  // Counters of live sessions are in Redis; show them rather than the last flushed copy.
  const live = new Map((await loadSessions(deps.redis, page.items.filter((s) => s.isActive).map((s) => s.id))).map((s) => [s.id, s]))
  page.items = page.items.map((item) => {
    const stored = live.get(item.id)
    return stored
      ? { ...item, totalRequests: stored.totalRequests, pagesVisited: stored.pagesVisited, actionsPerformed: stored.actionsPerformed, lastSeenAt: new Date(stored.lastSeenAt), expiresAt: new Date(expiresAt(stored)) }
      : item
  })
  return page
}

export interface SessionStats {
  from: Date
  to: Date
  total: number
  active: number
  byDeviceType: Array<{ key: string, count: number }>
  byCountry: Array<{ key: string, count: number }>
  byUtmSource: Array<{ key: string, count: number }>
}

export async function adminSessionStats (deps: Deps, range: { from: Date, to: Date }): Promise<SessionStats> {
  const base = deps.db.selectFrom('sessions').where('createdAt', '>=', range.from).where('createdAt', '<', range.to)
  const countBy = async (column: 'deviceType' | 'countryCode' | 'utmSource') => {
    const rows = await base.select([sql<string>`coalesce(${sql.ref(column)}, 'unknown')`.as('key'), (eb) => eb.fn.countAll<number>().as('count')])
      .groupBy('key').orderBy('count', 'desc').orderBy('key').limit(50).execute()
    return rows.map((r) => ({ key: r.key, count: Number(r.count) }))
  }
  const [totals, byDeviceType, byCountry, byUtmSource] = await Promise.all([
    base.select([(eb) => eb.fn.countAll<number>().as('total'), sql<number>`count(*) filter (where is_active)`.as('active')]).executeTakeFirstOrThrow(),
    countBy('deviceType'),
    countBy('countryCode'),
    countBy('utmSource')
  ])
  return { ...range, total: Number(totals.total), active: Number(totals.active), byDeviceType, byCountry, byUtmSource }
}

export async function newSigninEmail (deps: Deps, to: { email: string, name: string }, session: SessionView): Promise<void> {
  const device = [session.browser, session.os && `on ${session.os}`, session.deviceName && `(${session.deviceName})`].filter(Boolean).join(' ') || 'an unknown device'
  const place = [session.countryCode, session.ipAddress && `IP ${session.ipAddress}`].filter(Boolean).join(', ') || 'unknown'
  await enqueueEmail(deps, 'new-signin', to.email, {
    name: to.name,
    device,
    place,
    time: session.createdAt.toISOString(),
    sessionsLink: `${deps.config.publicUrl}/account/sessions`
  })
}
