import { randomBytes } from 'node:crypto'
import type { UserType } from '../../platform/principal.ts'

// Access tokens are short-lived JWTs naming the session; refresh tokens are opaque
// (`<session id>.<256-bit secret>`), stored only as a keyed hash, and rotate on every use.

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

export interface Tokens {
  accessToken: string
  refreshToken: string
  tokenType: 'Bearer'
  expiresIn: number
}

export type SignAccessToken = (claims: AccessClaims) => string

export interface TokenSubject { userId: string, sessionId: string, userType: UserType, authTime: number }

export function issueTokens (sign: SignAccessToken, ttlSeconds: number, now: Date, subject: TokenSubject, refreshToken: string): Tokens {
  const iat = Math.floor(now.getTime() / 1000)
  const accessToken = sign({ sub: subject.userId, sid: subject.sessionId, typ: subject.userType, auth_time: subject.authTime, tkn: 'access', jti: randomBytes(9).toString('base64url'), iat, exp: iat + ttlSeconds })
  return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: ttlSeconds }
}

export function isAccessClaims (value: unknown): value is AccessClaims {
  const c = value as Partial<AccessClaims> | null
  return typeof c === 'object' && c !== null && c.tkn === 'access' && typeof c.sub === 'string' &&
    typeof c.sid === 'string' && typeof c.auth_time === 'number'
}
