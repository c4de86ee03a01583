import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify'
import { Forbidden, Problem, TooManyRequests, Unauthorized, retryAfter, type AppError } from '../../platform/errors.ts'
import { touchSession } from '../sessions/public.ts'
import { ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER, readCookies, staleCookieHeaders } from './cookies.ts'
import { VerifiedAccessTokens, type AccessClaims } from './tokens.ts'
import { appendHook } from '../../platform/route-hooks.ts'
import { allowedOrigins } from '../../platform/public-url.ts'

// The authentication every protected route uses, as a route option:
//   config: { auth: 'user' }      a signed-in user
//   config: { auth: 'admin' }     a platform admin (others get 403)
//   config: { auth: 'optional' }  the caller when there is one
// A token is accepted only while its session is live in Redis (one round trip that also counts
// the request), so a revoked session's token fails on its next request. Cookie-authenticated
// unsafe requests must pass a CSRF check; bearer requests need none. Signed-in callers are rate
// limited per session in the same round trip: on routes that require a sign-in this check runs
// before the per-IP limiter, which skips a request only once the check accepted it; a request it
// refuses is counted against its IP first, so forged headers or cookies buy no exemption.
// On 'optional' routes an ended, expired or forged token makes the caller anonymous, so a browser
// holding one can always sign in again; on every route its stale cookies are expired in the answer.

export type AuthMode = 'user' | 'admin' | 'optional'

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

interface FoundToken { token: string, viaCookie: boolean }

function findAccessToken (request: FastifyRequest): FoundToken | null {
  const header = request.headers.authorization
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    return match ? { token: match[1]!, viaCookie: false } : { token: '', viaCookie: false }
  }
  const cookie = request.headers.cookie ? readCookies(request.headers.cookie)[ACCESS_COOKIE] : undefined
  return cookie ? { token: cookie, viaCookie: true } : null
}

/**
 * A cookie rides along on any request the browser makes, including one a hostile page
 * triggers: an unsafe cookie-authenticated request must come from an allowed Origin, or, when
 * the browser sends no Origin, carry the csrf_token cookie's value in the X-CSRF-Token header.
 */
export function checkCsrf (request: FastifyRequest, allowedOrigins: string[]): void {
  const origin = request.headers.origin
  if (origin !== undefined) {
    if (allowedOrigins.includes(origin)) return
    throw Forbidden('CSRF_FAILED', 'Cross-site request refused: Origin is not allowed.')
  }
  const expected = readCookies(request.headers.cookie)[CSRF_COOKIE]
  const given = request.headers[CSRF_HEADER]
  if (expected && typeof given === 'string' && given === expected) return
  throw Forbidden('CSRF_FAILED', 'Cross-site request refused: send the X-CSRF-Token header.')
}

/** Where a cookie-authenticated unsafe request may come from: the origins CORS answers (platform/public-url.ts). */
export { allowedOrigins }

export default fp(async (app) => {
  const origins = allowedOrigins(app.config)
  // The per-IP limiter's own handler: the same counters as its hook on other routes.
  const { limitPerIp } = app
  const accessTokens = new VerifiedAccessTokens((token) => app.jwt.verify(token))

  /** Credentials that fail: anonymous where that is allowed, else counted per IP and refused. */
  async function refuse (request: FastifyRequest, reply: FastifyReply, mode: AuthMode, found: FoundToken | null, error: AppError, staleCookies: 'access' | 'all'): Promise<void> {
    // Stale cookies are expired whether or not the route goes on anonymously: a browser
    // cannot drop HttpOnly cookies itself, so a refusal that kept them (a logout with an
    // ended session, /auth/me) would leave it sending dead credentials.
    if (found?.viaCookie) reply.header('set-cookie', staleCookieHeaders(app.config, staleCookies))
    if (mode === 'optional') return
    await limitPerIp.call(app, request, reply, () => {})
    throw error
  }

  function authenticate (mode: AuthMode): onRequestHookHandler {
    return async function authenticateRequest (request: FastifyRequest, reply: FastifyReply) {
      const found = findAccessToken(request)
      if (!found) return refuse(request, reply, mode, found, Unauthorized('UNAUTHORIZED', 'Sign in first: send a bearer access token or the access_token cookie.'), 'all')
      let claims: AccessClaims | null
      try {
        // fast-jwt checks expiry against Date.now(), and so must its memo.
        claims = accessTokens.claimsOf(found.token, Date.now())
      } catch (err) {
        // An expired access token's session may live on: only that cookie is stale then.
        const expired = (err as { code?: string }).code === 'FAST_JWT_EXPIRED'
        return refuse(request, reply, mode, found, Unauthorized('UNAUTHORIZED', 'The access token is invalid or has expired.'), expired ? 'access' : 'all')
      }
      if (!claims) return refuse(request, reply, mode, found, Unauthorized('UNAUTHORIZED', 'This is not an access token.'), 'all')
      const session = await touchSession(app, claims.sid, claims.sub)
      if (!session || session.userId !== claims.sub) {
        return refuse(request, reply, mode, found, Unauthorized('SESSION_ENDED', 'The session has ended; sign in again.'), 'all')
      }
      if (session.requestsThisMinute > app.config.rateLimitMax) {
        const wait = 60 - Math.floor(app.clock.now().getTime() / 1000) % 60
        throw TooManyRequests('RATE_LIMITED', `Too many attempts; retry in ${wait} s.`, { headers: retryAfter(wait) })
      }
      if (found.viaCookie && UNSAFE.has(request.method)) checkCsrf(request, origins)
      request.principal = {
        userId: session.userId,
        sessionId: claims.sid,
        type: session.userType,
        workspaceId: session.workspaceId,
        authTime: session.authTime,
        profileVersion: session.profileVersion
      }
      if (mode === 'admin' && session.userType !== 'admin') throw Forbidden('FORBIDDEN', 'Platform admins only.')
    }
  }

  app.decorate('authenticate', authenticate)

  // Routes declare `config.auth`; this attaches the hook and documents the security scheme.
  app.addHook('onRoute', (route: RouteOptions) => {
    const config = route.config as { auth?: AuthMode, limitedPerSession?: boolean } | undefined
    const mode = config?.auth
    if (!mode) return
    if (mode === 'optional') {
      route.onRequest = appendHook(route.onRequest, authenticate(mode) as never)
    } else {
      // A required sign-in, once verified, is limited per session in the check itself, not per
      // IP as well: the per-IP limiter comes off the route (the check runs it on the requests it
      // refuses), so a signed-in request pays for one limit only (see limitedElsewhere).
      const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
      route.onRequest = [authenticate(mode) as never, ...existing.filter((hook) => hook !== app.limitPerIp)]
      config.limitedPerSession = true
    }
    const schema = (route.schema ??= {}) as Record<string, unknown>
    schema.security = mode === 'optional' ? [{ bearer: [] }, { cookie: [] }, {}] : [{ bearer: [] }, { cookie: [] }]
    const response = (schema.response ??= {}) as Record<string, unknown>
    response['401'] ??= Problem
    if (mode !== 'optional') response['403'] ??= Problem
  })
}, { name: 'auth-guard', dependencies: ['config', 'redis', 'principal', 'security'] })

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; see modules/auth/guard.ts. */
    auth?: AuthMode
  }
  interface FastifyInstance {
    /** An onRequest hook authenticating with the given mode, for plugins that add their own routes. */
    authenticate: (mode: AuthMode) => onRequestHookHandler
  }
}
