import type { Sealer } from '../../platform/crypto.ts'
import { withScripts, type RedisClient, type RedisScript } from '../../platform/redis.ts'
import type { UserType } from '../../platform/principal.ts'
import { bucketTag, userBucket, userTag } from '../../platform/user-slot.ts'
import type { Device } from './device.ts'
import type { Network } from './location.ts'
import type { SessionType } from './schemas.ts'

// Sessions live in Redis (SPEC 6): the source of truth for which are active.
//   sess:{u<b>}:<id>       hash: ids, timestamps, counters, refresh-token hashes; the personal
//                          details (IP, device, place, attribution) only as one sealed field
//   sess:exp:{u<b>}        sorted set: session id -> when it expires (idle or absolute, whichever
//                          first), one per bucket
//   user:{u<b>}:<id>:sess  set: the user's session ids
//   sess:end:{u<b>}        hash: session id -> final counters of an expired session that cleanup
//                          took out of Redis and has not yet seen written to Postgres (expiry.ts)
// Every multi-step change is one Lua script, so concurrent requests, refreshes and cleanup
// runs see a session either before or after a change, never half-way. `b` is the user's bucket
// (platform/user-slot.ts): what a script touches shares one slot on a Redis Cluster.

export interface SessionDetails extends Network, Device {
  deviceFingerprint: string
  authMethod: string
  referrerUrl: string | null
  landingPage: string | null
  utmSource: string | null
  utmMedium: string | null
  utmCampaign: string | null
  utmTerm: string | null
  utmContent: string | null
}

export interface StoredSession {
  id: string
  userId: string
  userType: UserType
  workspaceId: string | null
  sessionType: SessionType
  createdAt: number
  lastSeenAt: number
  idleMs: number
  absoluteExpiresAt: number
  totalRequests: number
  pagesVisited: number
  actionsPerformed: number
  /** Seconds since the epoch of the last real authentication. */
  authTime: number
  /** Sealed SessionDetails. */
  sealedDetails: string
}

// The context binds sealed details to their session: one session's cannot pass for another's.
const detailsContext = (id: string) => `session:${id}`

export function sealDetails (sealer: Sealer, id: string, details: SessionDetails): string {
  return sealer.seal(details, detailsContext(id))
}

export function openDetails (sealer: Sealer, s: Pick<StoredSession, 'id' | 'sealedDetails'>): SessionDetails {
  return sealer.open<SessionDetails>(s.sealedDetails, detailsContext(s.id))
}

/**
 * A new session id of the user: a v7 UUID whose last two hex digits (random ones) are the user's
 * bucket, so every key of the session is derivable from its id alone (a refresh token, an admin's
 * revocation, cleanup) and lands beside the user's keys. The time-ordered prefix is untouched.
 * That leaves about 34 fresh random bits per id: a session id names a session, it is never a
 * credential (refresh secrets are 256 random bits; access tokens are signed). Keep it that way.
 */
export const sessionIdOf = (uuid: string, userId: string): string => uuid.slice(0, -2) + userBucket(userId)
export const sessionBucket = (id: string): string => id.slice(-2)
/** Whether the session id carries the user's bucket (every session made for that user does). */
export const sessionOfUser = (id: string, userId: string): boolean => sessionBucket(id) === userBucket(userId)

export const expiryIndex = (bucket: string) => `sess:exp:${bucketTag(bucket)}`
export const sessionExpiryIndex = (id: string) => expiryIndex(sessionBucket(id))
export const endJournal = (bucket: string) => `sess:end:${bucketTag(bucket)}`
/** What a session key of the bucket starts with; the session id follows. */
export const sessionKeyHead = (bucket: string) => `sess:${bucketTag(bucket)}:`
export const sessionKey = (id: string) => sessionKeyHead(sessionBucket(id)) + id
/** What the session set of a user of the bucket starts with; `<user id>:sess` follows. */
export const userKeyHead = (bucket: string) => `user:${bucketTag(bucket)}:`
export const userSessionsKey = (userId: string) => `user:${userTag(userId)}:${userId}:sess`

export function expiresAt (s: Pick<StoredSession, 'lastSeenAt' | 'idleMs' | 'absoluteExpiresAt'>): number {
  return Math.min(s.lastSeenAt + s.idleMs, s.absoluteExpiresAt)
}

// KEYS: the session, the expiry index, the user's profile version (named after the token's
// subject, so one round trip also says whether cached profile data is still current).
// It also counts the session's requests in the current minute, for its rate limit: signed-in
// callers are limited per session in this same round trip rather than per IP in another.
// Steady state costs three commands: last-seen and the expiry index move at most once a
// second, and the minute's count is derived from the total.
const TOUCH = `
local h = redis.call('HMGET', KEYS[1], 'uid', 'typ', 'ws', 'ls', 'idle', 'abs', 'at', 'rlw', 'rlq')
if not h[1] then return false end
local now = tonumber(ARGV[1])
local lastSeen = tonumber(h[4])
local idle = tonumber(h[5])
local abs = tonumber(h[6])
if math.min(lastSeen + idle, abs) <= now then return false end
local total = redis.call('HINCRBY', KEYS[1], 'req', 1)
local window = math.floor(now / 60000)
local inWindow = 1
if tonumber(h[8]) == window then
  inWindow = total - tonumber(h[9])
else
  redis.call('HSET', KEYS[1], 'rlw', window, 'rlq', total - 1)
end
if now - lastSeen >= 1000 then
  redis.call('HSET', KEYS[1], 'ls', ARGV[1])
  redis.call('ZADD', KEYS[2], math.min(now + idle, abs), ARGV[2])
end
return { h[1], h[2], h[3], h[7], redis.call('GET', KEYS[3]) or '0', inWindow }`

// Refresh-token rotation, the one place its bookkeeping lives (refresh and step-up re-issue
// alike). ARGV: presented hash ('' to rotate whatever is current: a re-issue), new hash,
// sealed new secret, now, grace ms, session id, how many superseded hashes to remember, and
// a new authentication time ('' to keep it).
const ROTATE = `
local h = redis.call('HMGET', KEYS[1], 'rt', 'prt', 'prtu', 'nxt', 'old', 'ls', 'idle', 'abs', 'uid', 'typ', 'ws', 'at')
if not h[1] then return { 'missing' } end
local now = tonumber(ARGV[4])
local idle = tonumber(h[7])
local abs = tonumber(h[8])
if math.min(tonumber(h[6]) + idle, abs) <= now then return { 'expired' } end
local presented = ARGV[1]
if presented == '' then presented = h[1] end
if presented == h[1] then
  local old = {}
  if h[5] then old = cjson.decode(h[5]) end
  if h[2] then table.insert(old, 1, h[2]) end
  while #old > tonumber(ARGV[7]) do table.remove(old) end
  redis.call('HSET', KEYS[1], 'rt', ARGV[2], 'prt', presented, 'prtu', now + tonumber(ARGV[5]), 'nxt', ARGV[3], 'old', cjson.encode(old), 'ls', ARGV[4])
  local authTime = h[12]
  if ARGV[8] ~= nil and ARGV[8] ~= '' then
    authTime = ARGV[8]
    redis.call('HSET', KEYS[1], 'at', authTime)
  end
  redis.call('ZADD', KEYS[2], math.min(now + idle, abs), ARGV[6])
  return { 'rotated', h[9], h[10], h[11], authTime }
end
if h[2] and presented == h[2] then
  if now < tonumber(h[3]) then return { 'grace', h[9], h[10], h[11], h[12], h[4] } end
  return { 'reuse' }
end
if h[5] then
  for _, seen in ipairs(cjson.decode(h[5])) do
    if seen == presented then return { 'reuse' } end
  end
end
return { 'invalid' }`

// Removes a session and returns its fields, once: of two concurrent callers only one gets
// them. (Expired sessions are ended in batches: expiry.ts.)
const END = `
local data = redis.call('HGETALL', KEYS[1])
if #data == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return false
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return data`

type SessionRedis = RedisClient & {
  sessionTouch: (key: string, index: string, versionKey: string, now: number, id: string) => Promise<[string, string, string, string, string, number] | null>
  sessionRotate: (key: string, index: string, presented: string, next: string, sealedNext: string, now: number, graceMs: number, id: string, keep: number, authTime: string) => Promise<string[]>
  sessionEnd: (key: string, index: string, id: string) => Promise<string[] | null>
}

/** Defined on the client when it is created, never on first use (see RedisScript). */
export const storeScripts: readonly RedisScript[] = [
  { name: 'sessionTouch', numberOfKeys: 3, lua: TOUCH },
  { name: 'sessionRotate', numberOfKeys: 2, lua: ROTATE },
  { name: 'sessionEnd', numberOfKeys: 2, lua: END }
]

export function sessionRedis (redis: RedisClient): SessionRedis {
  return withScripts<SessionRedis>(redis, storeScripts)
}

/** A new session's hash fields, as saveNewSession stores them. */
export function newSessionFields (s: StoredSession, refreshHash: string): Record<string, string | number> {
  return {
    uid: s.userId,
    typ: s.userType,
    ws: s.workspaceId ?? '',
    sty: s.sessionType,
    cr: s.createdAt,
    ls: s.lastSeenAt,
    idle: s.idleMs,
    abs: s.absoluteExpiresAt,
    req: s.totalRequests,
    pv: 0,
    ap: 0,
    at: s.authTime,
    rt: refreshHash,
    info: s.sealedDetails
  }
}

// A backstop only: cleanup finalises sessions long before this.
export const sessionBackstopAt = (s: Pick<StoredSession, 'absoluteExpiresAt'>) => s.absoluteExpiresAt + 24 * 3600 * 1000

export async function saveNewSession (redis: RedisClient, s: StoredSession, refreshHash: string): Promise<void> {
  await redis.multi()
    .hset(sessionKey(s.id), newSessionFields(s, refreshHash))
    .pexpireat(sessionKey(s.id), sessionBackstopAt(s))
    .zadd(sessionExpiryIndex(s.id), expiresAt(s), s.id)
    .sadd(userSessionsKey(s.userId), s.id)
    .exec()
}

export function fromHash (id: string, h: Record<string, string>): StoredSession | null {
  if (!h.uid) return null
  return {
    id,
    userId: h.uid,
    userType: h.typ as UserType,
    workspaceId: h.ws || null,
    sessionType: (h.sty ?? 'api') as SessionType,
    createdAt: Number(h.cr),
    lastSeenAt: Number(h.ls),
    idleMs: Number(h.idle),
    absoluteExpiresAt: Number(h.abs),
    totalRequests: Number(h.req ?? 0),
    pagesVisited: Number(h.pv ?? 0),
    actionsPerformed: Number(h.ap ?? 0),
    authTime: Number(h.at ?? 0),
    sealedDetails: h.info ?? ''
  }
}

export function pairsToHash (pairs: string[]): Record<string, string> {
  const hash: Record<string, string> = {}
  for (let i = 0; i + 1 < pairs.length; i += 2) hash[pairs[i]!] = pairs[i + 1]!
  return hash
}

export async function loadSessions (redis: RedisClient, ids: string[]): Promise<StoredSession[]> {
  if (ids.length === 0) return []
  // Sent in one tick: auto-pipelined into one write per server (an explicit pipeline must stay
  // on one node of a cluster, and sessions of several users are spread over them).
  const results = await Promise.all(ids.map((id) => redis.hgetall(sessionKey(id))))
  return ids.map((id, i) => fromHash(id, results[i]!)).filter((s): s is StoredSession => s !== null)
}

export interface Rotation {
  sessionId: string
  /** The presented token's hash, or null to re-issue (rotate whatever token is current). */
  presentedHash: string | null
  nextHash: string
  sealedNext: string
  now: number
  graceMs: number
  /** How many superseded hashes to remember for reuse detection. */
  keep: number
  /** A fresh authentication time (seconds) to record with the rotation (step-up). */
  authTime?: number
}

/**
 * Rotates a session's refresh token in one step: the superseded token keeps a grace window and
 * joins the remembered ones, so presenting it (or any older one) later is seen as reuse. Both
 * refresh and step-up re-issue come through here; the result is `[kind, ...]` as ROTATE returns.
 */
export async function rotateStoredRefreshToken (redis: RedisClient, r: Rotation): Promise<string[]> {
  return sessionRedis(redis).sessionRotate(sessionKey(r.sessionId), sessionExpiryIndex(r.sessionId), r.presentedHash ?? '', r.nextHash, r.sealedNext,
    r.now, r.graceMs, r.sessionId, r.keep, r.authTime === undefined ? '' : String(r.authTime))
}
