import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { Type, type TObject, type TSchema } from '@sinclair/typebox'
import { Conflict, Unprocessable } from './errors.ts'
import { appendHook } from './route-hooks.ts'
import { ownedKeys } from './redis.ts'
import { Text } from './schema-types.ts'

// SPEC 4: every mutating route accepts an Idempotency-Key; routes with
// `config: { idempotency: 'required' }` demand it. The first response per (caller, key) is kept
// 24 h and replayed; the same key with another body is refused; a retry while the first is
// still running gets 409. A 5xx, and a refusal that changed nothing (401, 403, 404, 429),
// release the key so the client can retry for real.

export type IdempotencyMode = 'optional' | 'required' | 'off'

const KEPT_MS = 24 * 3600 * 1000
/** How long an in-flight claim survives a crashed process before the key can be used again. */
const CLAIM_MS = 120 * 1000
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const HEADER = 'idempotency-key'

/** Refusals that change nothing: not a final answer for the key (the caller may gain access). */
const RELEASING = new Set([401, 403, 404, 429])
/** Whether a response is the key's final answer, kept and replayed (the API docs list it too). */
export const keptForReplay = (status: number): boolean => status < 500 && !RELEASING.has(status)
/** Storing a completed response is retried in the background for this long (the claim's life). */
const STORE_RETRY_DELAYS_MS = [100, 200, 400, 800, 1600, 3200]
const STORE_RETRY_EVERY_MS = 5000

/** `owner` tells this request's claim from a later one's, so a late release cannot end theirs. */
interface Claim { state: 'running', fingerprint: string, owner: string }
interface Done { state: 'done', fingerprint: string, status: number, contentType: string | undefined, location: string | undefined, body: string }
/** The request completed, but its response could not be kept for replay. */
interface Unreplayable { state: 'unreplayable', fingerprint: string, status: number }
type Entry = Claim | Done | Unreplayable

interface Pending { redisKey: string, fingerprint: string, claim: string }

function headerSchema (required: boolean): TSchema {
  const key = Text({
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

/**
 * Identifies the request behind a key. Bodies carry addresses, names and phone numbers, and a
 * plain hash of one is confirmed by hashing a guess, so it is a keyed hash, as keys are.
 */
function fingerprint (lookupHash: (value: string) => string, request: FastifyRequest): string {
  const body = request.isMultipart?.() ? '' : JSON.stringify(request.body ?? null)
  return lookupHash(`idempotency-fingerprint\n${request.method} ${request.url}\n${body}`)
}

function scopeOf (request: FastifyRequest): string {
  return request.principal ? `user:${request.principal.userId}` : `ip:${request.ip}`
}

// Keyed hash: the key name reveals neither the caller's IP nor the client's key.

export default fp(async (app) => {
  app.decorateRequest('idempotency', null)

  /** Claims the key for this request, or replays the stored response (then returns true). */
  async function claimOrReplay (request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const key = request.headers[HEADER]
    if (typeof key !== 'string') return false

    const redisKey = 'idem:' + app.sealer.lookupHash(`${scopeOf(request)}\n${key}`)
    const print = fingerprint(app.sealer.lookupHash, request)
    const claim = JSON.stringify({ state: 'running', fingerprint: print, owner: randomBytes(9).toString('base64url') } satisfies Claim)

    for (let attempt = 0; attempt < 2; attempt++) {
      // Claim and read sent together (one round trip: the client pipelines commands issued in
      // the same tick, and Redis runs them in order), so a replay costs no second trip.
      const [claimed, raw] = await Promise.all([app.redis.set(redisKey, claim, 'PX', CLAIM_MS, 'NX'), app.redis.get(redisKey)])
      if (claimed === 'OK') {
        request.idempotency = { redisKey, fingerprint: print, claim }
        return false
      }
      if (raw === null) continue // expired between the two commands: claim again
      const entry = JSON.parse(raw) as Entry
      if (entry.fingerprint !== print) {
        throw Unprocessable('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request.')
      }
      if (entry.state === 'running') break
      if (entry.state === 'unreplayable') {
        throw Conflict('IDEMPOTENCY_RESPONSE_LOST', `A request with this Idempotency-Key already completed (status ${entry.status}), but its response could not be kept for replay; check the result before retrying with a new key.`)
      }
      reply.code(entry.status).header('idempotent-replayed', 'true')
      if (entry.contentType) reply.type(entry.contentType)
      if (entry.location) reply.header('location', entry.location)
      reply.send(app.sealer.open<string>(entry.body, 'idempotency'))
      return true
    }
    throw Conflict('IDEMPOTENCY_IN_PROGRESS', 'A request with this Idempotency-Key is still being processed.')
  }

  // Background attempts to settle a key whose first write failed (see keepTrying).
  const retries = new Set<NodeJS.Timeout>()
  let closed = false
  app.addHook('onClose', async () => {
    closed = true
    for (const timer of retries) clearTimeout(timer)
    retries.clear()
  })

  /**
   * Settling a key (keeping the response, or releasing the claim after a failure) must not fail
   * for good on a Redis hiccup, or the key answers "still running" until its claim expires
   * minutes later. `settle` is retried in the background while the claim lives; once the quick
   * retries are spent, `fallback` (a smaller write) is tried too. The client has its response.
   */
  function keepTrying (request: FastifyRequest, settle: () => Promise<unknown>, fallback?: () => Promise<unknown>): void {
    const deadline = Date.now() + CLAIM_MS
    let attempt = 0
    const tryAgain = (): void => {
      if (closed) return
      const delay = STORE_RETRY_DELAYS_MS[attempt] ?? STORE_RETRY_EVERY_MS
      attempt++
      const timer = setTimeout(() => {
        retries.delete(timer)
        settle().then(() => {
          request.log.info({ attempts: attempt + 1 }, 'idempotency key settled after a retry')
        }, async () => {
          if (fallback && attempt >= STORE_RETRY_DELAYS_MS.length && await fallback().then(() => true, () => false)) return
          if (Date.now() < deadline) tryAgain()
          else request.log.error('idempotency key could not be settled; it stays claimed until the claim expires')
        })
      }, delay)
      timer.unref()
      retries.add(timer)
    }
    tryAgain()
  }

  async function storeResponse (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    const pending = request.idempotency
    if (pending === null) return payload
    request.idempotency = null
    if (!keptForReplay(reply.statusCode)) {
      // Only while the claim is still this request's.
      const release = () => ownedKeys(app.redis).deleteIfOwner(pending.redisKey, pending.claim)
      await release().catch(() => keepTrying(request, release))
      return payload
    }
    const unreplayable: Unreplayable = { state: 'unreplayable', fingerprint: pending.fingerprint, status: reply.statusCode }
    let entry = JSON.stringify(unreplayable)
    // A stream or buffer cannot be replayed, but the work is done: say so rather than run again.
    if (typeof payload === 'string' || payload === null || payload === undefined) {
      const done: Done = {
        state: 'done',
        fingerprint: pending.fingerprint,
        status: reply.statusCode,
        contentType: reply.getHeader('content-type') as string | undefined,
        location: reply.getHeader('location') as string | undefined,
        // Responses can carry personal data or tokens: stored sealed, like everything in Redis.
        body: app.sealer.seal(payload ?? '', 'idempotency')
      }
      entry = JSON.stringify(done)
    }
    try {
      await app.redis.set(pending.redisKey, entry, 'PX', KEPT_MS)
    } catch (err) {
      request.log.warn({ err: (err as Error).message }, 'could not store the idempotent response; retrying in the background')
      // The work behind this response is done (committed), so the key must end up answering
      // for it: the response, or, when it cannot be kept, a clear 409 (never a second run).
      const fallback = JSON.stringify(unreplayable)
      keepTrying(request, () => app.redis.set(pending.redisKey, entry, 'PX', KEPT_MS), () => app.redis.set(pending.redisKey, fallback, 'PX', KEPT_MS))
    }
    return payload
  }

  // Hooks go on mutating routes only, so reads pay nothing for idempotency. The claim runs
  // right before the handler, after every onRequest and preHandler hook, whatever plugin added
  // them and in whatever order: a caller is authenticated and authorised (auth and workspace
  // guards) before a stored response can be replayed to them, and a guard's refusal never
  // claims the key.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (!methods.some((m) => MUTATING.has(m))) return
    const config = (route.config ??= {}) as { idempotency?: IdempotencyMode }
    const mode = (config.idempotency ??= 'optional')
    if (mode === 'off') return
    declareHeader(route, mode)
    const handler = route.handler
    route.handler = async function idempotentHandler (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      if (await claimOrReplay(request, reply)) return reply
      return handler.call(this, request, reply)
    }
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
