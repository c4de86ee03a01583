import type { Deps } from '../../platform/deps.ts'
import type { UserType } from '../../platform/principal.ts'
import { endSession } from './ending.ts'
import type { ActiveSession } from './lifecycle.ts'
import { expiresAt, loadSessions, rotateStoredRefreshToken } from './store.ts'

// Refresh tokens are opaque `<session id>.<secret>`; the session keeps only keyed hashes (the
// current secret's, and superseded ones' for reuse detection). Issuing, rotating and judging
// them happens here and nowhere else.

/** How long after a rotation the previous refresh token still works (concurrent refreshes). */
export const REFRESH_GRACE_MS = 10_000
const REMEMBERED_REFRESH_HASHES = 50

// The successor's secret is kept sealed for the grace window, to hand out again.
const nextContext = (id: string) => `session-next:${id}`

/** Splits `<session id>.<secret>`; the secret is stored only as a keyed hash. */
export function parseRefreshToken (token: string): { sessionId: string, secret: string } | null {
  const match = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43,})$/.exec(token)
  return match ? { sessionId: match[1]!, secret: match[2]! } : null
}

interface NewRefreshToken { token: string, secret: string, hash: string }

/** A new refresh token of the session: what the client is given, and the hash the session keeps. */
export function newRefreshToken (deps: Pick<Deps, 'random' | 'sealer'>, sessionId: string): NewRefreshToken {
  const secret = deps.random.token(32)
  return { token: `${sessionId}.${secret}`, secret, hash: deps.sealer.secretHash(secret) }
}

/** A successor token for a rotation, also kept sealed so the grace window can hand it out again. */
function successorOf (deps: Pick<Deps, 'random' | 'sealer'>, sessionId: string): NewRefreshToken & { sealed: string } {
  const next = newRefreshToken(deps, sessionId)
  return { ...next, sealed: deps.sealer.seal(next.secret, nextContext(sessionId)) }
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
  const next = successorOf(deps, sessionId)
  const result = await rotateStoredRefreshToken(deps.redis, {
    sessionId,
    presentedHash: deps.sealer.secretHash(secret),
    nextHash: next.hash,
    sealedNext: next.sealed,
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
  return { kind: 'ok', sessionId, session, refreshToken: next.token }
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
  const next = successorOf(deps, sessionId)
  const [kind] = await rotateStoredRefreshToken(deps.redis, {
    sessionId,
    presentedHash: null,
    nextHash: next.hash,
    sealedNext: next.sealed,
    now,
    graceMs: REFRESH_GRACE_MS,
    keep: REMEMBERED_REFRESH_HASHES,
    authTime
  })
  return kind === 'rotated' ? { refreshToken: next.token, authTime } : null
}
