import { createHash } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { Type, type TObject, type TSchema } from '@sinclair/typebox'
import { Conflict, Unprocessable } from './errors.ts'
import { appendHook } from './route-hooks.ts'

// SPEC 4: every mutating route accepts an Idempotency-Key; routes with
// `config: { idempotency: 'required' }` demand it. The first response per (caller, key) is kept
// 24 h and replayed; the same key with another body is refused; a retry while the first is
// still running gets 409. A 5xx releases the key so the client can retry for real.

export type IdempotencyMode = 'optional' | 'required' | 'off'

const KEPT_MS = 24 * 3600 * 1000
/** How long an in-flight claim survives a crashed process before the key can be used again. */
const CLAIM_MS = 120 * 1000
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const HEADER = 'idempotency-key'

interface Claim { state: 'running', fingerprint: string }
interface Done { state: 'done', fingerprint: string, status: number, contentType: string | undefined, location: string | undefined, body: string }
type Entry = Claim | Done

interface Pending { redisKey: string, fingerprint: string }

function headerSchema (required: boolean): TSchema {
  const key = Type.String({
    minLength: 1,
    maxLength: 255,
    description: 'Makes the request safe to retry: the first response for this key is replayed for 24 h.'
  })
  return required ? key : Type.Optional(key)
}

/** Adds the Idempotency-Key header to the route's schema, so it is validated and documented. */
function declareHeader (route: RouteOptions, mode: IdempotencyMode): void {
  const schema = (route.schema ??= {})
  const existing = schema.headers as TObject | undefined
  schema.headers = Type.Object({ ...(existing?.properties ?? {}), [HEADER]: headerSchema(mode === 'required') }, {
    additionalProperties: true
  })
}

function fingerprint (request: FastifyRequest): string {
  const body = request.isMultipart?.() ? '' : JSON.stringify(request.body ?? null)
  return createHash('sha256').update(`${request.method} ${request.url}\n${body}`).digest('hex')
}

function scopeOf (request: FastifyRequest): string {
  return request.principal ? `user:${request.principal.userId}` : `ip:${request.ip}`
}

// Keyed hash: the key name reveals neither the caller's IP nor the client's key.

export default fp(async (app) => {
  app.decorateRequest('idempotency', null)

  async function claimOrReplay (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const key = request.headers[HEADER]
    if (typeof key !== 'string') return

    const redisKey = 'idem:' + app.sealer.lookupHash(`${scopeOf(request)}\n${key}`)
    const print = fingerprint(request)
    const claim: Claim = { state: 'running', fingerprint: print }

    for (let attempt = 0; attempt < 2; attempt++) {
      if (await app.redis.set(redisKey, JSON.stringify(claim), 'PX', CLAIM_MS, 'NX') === 'OK') {
        request.idempotency = { redisKey, fingerprint: print }
        return
      }
      const raw = await app.redis.get(redisKey)
      if (raw === null) continue // expired between the two calls: claim again
      const entry = JSON.parse(raw) as Entry
      if (entry.fingerprint !== print) {
        throw Unprocessable('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request.')
      }
      if (entry.state === 'running') break
      reply.code(entry.status).header('idempotent-replayed', 'true')
      if (entry.contentType) reply.type(entry.contentType)
      if (entry.location) reply.header('location', entry.location)
      return reply.send(app.sealer.open<string>(entry.body, 'idempotency'))
    }
    throw Conflict('IDEMPOTENCY_IN_PROGRESS', 'A request with this Idempotency-Key is still being processed.')
  }

  async function storeResponse (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    const pending = request.idempotency
    if (pending === null) return payload
    request.idempotency = null
    if (reply.statusCode >= 500 || (typeof payload !== 'string' && payload !== null && payload !== undefined)) {
      await app.redis.del(pending.redisKey).catch(() => {})
      return payload
    }
    const done: Done = {
      state: 'done',
      fingerprint: pending.fingerprint,
      status: reply.statusCode,
      contentType: reply.getHeader('content-type') as string | undefined,
      location: reply.getHeader('location') as string | undefined,
      // Responses can carry personal data or tokens: stored sealed, like everything in Redis.
      body: app.sealer.seal((payload as string | null) ?? '', 'idempotency')
    }
    await app.redis.set(pending.redisKey, JSON.stringify(done), 'PX', KEPT_MS)
    return payload
  }

  // Hooks go on mutating routes only, so reads pay nothing for idempotency. They run at
  // preHandler, after authentication (onRequest) has set the caller the keys are scoped to.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (!methods.some((m) => MUTATING.has(m))) return
    const config = (route.config ??= {}) as { idempotency?: IdempotencyMode }
    const mode = (config.idempotency ??= 'optional')
    if (mode === 'off') return
    declareHeader(route, mode)
    route.preHandler = appendHook(route.preHandler, claimOrReplay as never)
    route.onSend = appendHook(route.onSend, storeResponse as never)
  })
}, { name: 'idempotency', dependencies: ['redis', 'principal'] })

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Idempotency-Key handling for mutating routes (default: optional). */
    idempotency?: IdempotencyMode
  }
  interface FastifyRequest {
    idempotency: Pending | null
  }
}
