import { fastifyCookie } from '@fastify/cookie'
import type { FastifyReply } from 'fastify'
import type { Config } from '../../config.ts'
import type { Tokens } from './schemas.ts'

// Cookie mode (SPEC 5.4): tokens as HttpOnly, SameSite=Lax cookies (Secure in production), the
// refresh cookie scoped to /auth. A readable csrf_token cookie backs the double-submit check
// for clients that send no Origin header.

export const ACCESS_COOKIE = 'access_token'
export const REFRESH_COOKIE = 'refresh_token'
export const CSRF_COOKIE = 'csrf_token'
export const CSRF_HEADER = 'x-csrf-token'

export function readCookies (header: string | undefined): Record<string, string | undefined> {
  return header ? fastifyCookie.parse(header) : {}
}

export function setAuthCookies (reply: FastifyReply, config: Config, tokens: Tokens, csrfToken: string): void {
  const secure = config.env === 'production'
  // These replace any clearing of stale cookies the guard wrote for this request.
  reply.removeHeader('set-cookie')
  reply.setCookie(ACCESS_COOKIE, tokens.accessToken, { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: tokens.expiresIn })
  reply.setCookie(REFRESH_COOKIE, tokens.refreshToken, { httpOnly: true, sameSite: 'lax', secure, path: '/auth', maxAge: config.refreshTokenTtl })
  reply.setCookie(CSRF_COOKIE, csrfToken, { httpOnly: false, sameSite: 'lax', secure, path: '/', maxAge: config.refreshTokenTtl })
}

export function clearAuthCookies (reply: FastifyReply, config: Config): void {
  const secure = config.env === 'production'
  reply.clearCookie(ACCESS_COOKIE, { path: '/', secure, sameSite: 'lax', httpOnly: true })
  reply.clearCookie(REFRESH_COOKIE, { path: '/auth', secure, sameSite: 'lax', httpOnly: true })
  reply.clearCookie(CSRF_COOKIE, { path: '/', secure, sameSite: 'lax' })
}

/**
 * Set-Cookie values that expire stale auth cookies, for the guard (which runs outside the
 * cookie plugin's scope): the access cookie alone when only the access token expired (its
 * session may live on, and the refresh cookie with it), else every auth cookie.
 */
export function staleCookieHeaders (config: Config, which: 'access' | 'all'): string[] {
  const secure = config.env === 'production'
  const expired = { expires: new Date(0), maxAge: 0, sameSite: 'lax' as const, secure }
  const headers = [fastifyCookie.serialize(ACCESS_COOKIE, '', { ...expired, httpOnly: true, path: '/' })]
  if (which === 'all') {
    headers.push(
      fastifyCookie.serialize(REFRESH_COOKIE, '', { ...expired, httpOnly: true, path: '/auth' }),
      fastifyCookie.serialize(CSRF_COOKIE, '', { ...expired, path: '/' })
    )
  }
  return headers
}
