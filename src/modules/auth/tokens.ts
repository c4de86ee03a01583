import type { Deps } from '../../platform/deps.ts'
import { Unauthorized } from '../../platform/errors.ts'
import type { UserType } from '../../platform/principal.ts'
import { rotateRefreshToken } from '../sessions/public.ts'
import type { Tokens } from './schemas.ts'

// Access tokens are short-lived JWTs naming the session; refresh tokens are opaque, and the
// session (module sessions) issues, rotates and judges them.

export interface AccessClaims {
  sub: string
  sid: string
  typ: UserType
  /** Seconds since the epoch of the last real authentication. */
  auth_time: number
  /** Marks the token as an access token, so no other JWT we might sign passes as one. */
  tkn: 'access'
  /** Unique per token, so two tokens issued in the same second still differ. */
  jti: string
  iat: number
  exp: number
}

export type SignAccessToken = (claims: AccessClaims) => string

/** What issuing tokens needs: the JWT signer (the API's), next to the usual dependencies. */
export interface AuthDeps extends Deps {
  signAccessToken: SignAccessToken
}

export interface TokenSubject { userId: string, sessionId: string, userType: UserType, authTime: number }

export function issueTokens (deps: Pick<AuthDeps, 'signAccessToken' | 'config' | 'random'>, now: Date, subject: TokenSubject, refreshToken: string): Tokens {
  const ttl = deps.config.accessTokenTtl
  const iat = Math.floor(now.getTime() / 1000)
  const accessToken = deps.signAccessToken({
    sub: subject.userId, sid: subject.sessionId, typ: subject.userType, auth_time: subject.authTime, tkn: 'access', jti: deps.random.token(9), iat, exp: iat + ttl
  })
  return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: ttl }
}

export function isAccessClaims (value: unknown): value is AccessClaims {
  const c = value as Partial<AccessClaims> | null
  return typeof c === 'object' && c !== null && c.tkn === 'access' && typeof c.sub === 'string' &&
    typeof c.sid === 'string' && typeof c.auth_time === 'number'
}

/**
 * Access tokens already verified, remembered until they expire: a client presents the same one
 * on every request for its lifetime, and looking the token itself up costs far less than
 * verifying it again, or hashing it for the verifier's own cache (a SHA-256 per request). Only
 * access tokens are kept. Revocation is unaffected: the session is checked in Redis on every
 * request regardless.
 */
export class VerifiedAccessTokens {
  readonly #claims = new Map<string, AccessClaims>()
  readonly #verify: (token: string) => unknown
  readonly #limit: number

  constructor (verify: (token: string) => unknown, limit = 10_000) {
    this.#verify = verify
    this.#limit = limit
  }

  /**
   * The token's claims, or null when it verifies but is not an access token; throws what the
   * verifier throws (expired, bad signature). `nowMs` is the verifier's clock: a remembered
   * token stops passing exactly when the verifier would start refusing it.
   */
  claimsOf (token: string, nowMs: number): AccessClaims | null {
    const known = this.#claims.get(token)
    if (known !== undefined) {
      if (nowMs <= known.exp * 1000) return known
      this.#claims.delete(token)
    }
    const claims = this.#verify(token)
    if (!isAccessClaims(claims)) return null
    // The first key is the longest remembered, evicted when full.
    if (this.#claims.size >= this.#limit) this.#claims.delete(this.#claims.keys().next().value!)
    this.#claims.set(token, claims)
    return claims
  }
}

/** New tokens for a refresh token, which is rotated (or, presented again, ends its session). */
export async function refresh (deps: AuthDeps, refreshToken: string | undefined): Promise<Tokens> {
  if (!refreshToken) throw Unauthorized('INVALID_REFRESH_TOKEN', 'Send the refresh token in the body or the refresh_token cookie.')
  const outcome = await rotateRefreshToken(deps, refreshToken)
  if (outcome.kind === 'reuse') {
    throw Unauthorized('REFRESH_TOKEN_REUSED', 'This refresh token was already used; the session has been ended. Sign in again.')
  }
  if (outcome.kind !== 'ok') throw Unauthorized('INVALID_REFRESH_TOKEN', 'The refresh token is invalid or its session has ended.')
  const { session } = outcome
  return issueTokens(deps, deps.clock.now(), {
    userId: session.userId, sessionId: outcome.sessionId, userType: session.userType, authTime: session.authTime
  }, outcome.refreshToken)
}
