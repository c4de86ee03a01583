import fp from 'fastify-plugin'

// Who is calling. The platform only knows the shape; the auth module's hook fills it in.
export type UserType = 'customer' | 'vendor' | 'admin'

export interface Principal {
  userId: string
  sessionId: string
  type: UserType
  /** Seconds since the epoch of the last real authentication (password or code). */
  authTime: number
}

export default fp(async (app) => {
  app.decorateRequest('principal', null)
}, { name: 'principal' })

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
  }
}
