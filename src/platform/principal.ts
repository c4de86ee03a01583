import fp from 'fastify-plugin'
import { Type, type Static } from '@sinclair/typebox'
import { Unauthorized } from './errors.ts'

// Who is calling. The platform only knows the shape; the auth module's hook fills it in.

/** The kinds of account: declared once, here, since every principal carries one. */
export const UserType = Type.Union([Type.Literal('customer'), Type.Literal('vendor'), Type.Literal('admin')])
export type UserType = Static<typeof UserType>

export interface Principal {
  userId: string
  sessionId: string
  type: UserType
  /** The session's current workspace, when it has one. */
  workspaceId: string | null
  /** Seconds since the epoch of the last real authentication (password or code). */
  authTime: number
  /** Changes whenever the user's profile or memberships do: a key for caching views of them. */
  profileVersion: number
}

/** How recent an authentication must be for sensitive actions (SPEC 5.4 step-up). */
export const STEP_UP_SECONDS = 10 * 60

/**
 * Refunds, role changes, ownership transfer, email and password changes need a recent
 * authentication; otherwise the client signs in again for a fresh token in the same session.
 */
export function requireRecentAuthentication (principal: Principal, now: Date): void {
  if (Math.floor(now.getTime() / 1000) - principal.authTime > STEP_UP_SECONDS) {
    throw Unauthorized('REAUTH_REQUIRED', 'This action needs a recent sign-in: authenticate again (password or code) and retry.')
  }
}

/** The signed-in caller, for routes whose auth option guarantees one. */
export function principalOf (request: { principal: Principal | null }): Principal {
  if (!request.principal) throw Unauthorized('UNAUTHORIZED', 'Authentication is required.')
  return request.principal
}

export default fp(async (app) => {
  app.decorateRequest('principal', null)
}, { name: 'principal' })

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
  }
}
