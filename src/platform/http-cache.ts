import etag from '@fastify/etag'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, onSendHookHandler, RouteHandlerMethod } from 'fastify'
import { Type } from '@sinclair/typebox'
import type { Clock } from './clock.ts'
import { appendHook } from './route-hooks.ts'

// Public reads a browser or a CDN may keep: every 200 carries an ETag (a hash of the body, so
// it changes exactly when the answer does) and answers 304 to a matching If-None-Match.
// Browsers revalidate every time (max-age=0); a shared cache may answer for
// SHARED_MAX_AGE_S seconds before it revalidates, the bound on how stale a CDN's copy gets.
//
// The API keeps them too (PublicReadCache): each public 200 as sent (body, ETag, content type)
// under its exact URL, so a repeated read runs no SQL, no serialization and no hashing, while
// every hook still runs (request id, security and CORS headers, rate limit, 304). Freshness:
// - every route declaring `config: { changesCatalog: true }` bumps the catalog generation before
//   its response leaves (its transaction has committed by then), which drops every answer; an
//   answer is kept only if no bump happened since its read began, so a read that raced a write
//   is never served once the write has answered;
// - writes this process does not see (the worker returning stock, other copies of the API) show
//   within CATALOG_CACHE_TTL_MS, counted from when the read began.

export const SHARED_MAX_AGE_S = 5
export const PUBLIC_CACHE_CONTROL = `public, max-age=0, must-revalidate, s-maxage=${SHARED_MAX_AGE_S}`

/** The 304 of a cacheable route, for its response map (and so the API docs). */
export const NotModified = Type.Null({ description: 'Not Modified: If-None-Match names the current ETag; no body' })

export interface CachedAnswer { body: string, etag: string, contentType: string }
/** When a read began: the catalog generation then, and the time (ms since the epoch). */
export interface ReadStart { generation: number, at: number }
export interface PublicReadCacheOptions { ttlMs: number, maxEntries: number, maxBytes: number }
interface Entry extends CachedAnswer { expiresAt: number, size: number }

/** Answers by URL, least recently used dropped first, bounded in entries and in characters. */
export class PublicReadCache {
  private entries = new Map<string, Entry>()
  private generation = 0
  private characters = 0
  private readonly options: PublicReadCacheOptions
  private readonly clock: Clock

  constructor (options: PublicReadCacheOptions, clock: Clock) {
    this.options = options
    this.clock = clock
  }

  get enabled (): boolean { return this.options.ttlMs > 0 }
  get size (): number { return this.entries.size }
  /** What the entries hold (URL, body and ETag), in characters: what maxBytes bounds. */
  get bytes (): number { return this.characters }

  begin (): ReadStart {
    return { generation: this.generation, at: this.clock.now().getTime() }
  }

  lookup (url: string, now = this.clock.now().getTime()): CachedAnswer | undefined {
    const entry = this.entries.get(url)
    if (entry === undefined) return undefined
    this.entries.delete(url)
    if (entry.expiresAt <= now) {
      this.characters -= entry.size
      return undefined
    }
    this.entries.set(url, entry)
    return entry
  }

  store (url: string, read: ReadStart, answer: CachedAnswer): void {
    const expiresAt = read.at + this.options.ttlMs
    // A write answered since the read began, or the read took longer than the TTL.
    if (read.generation !== this.generation || expiresAt <= this.clock.now().getTime()) return
    const size = url.length + answer.body.length + answer.etag.length
    // One huge answer must not flush the rest.
    if (size > this.options.maxBytes / 8) return
    const replaced = this.entries.get(url)
    if (replaced !== undefined) {
      this.entries.delete(url)
      this.characters -= replaced.size
    }
    this.entries.set(url, { ...answer, expiresAt, size })
    this.characters += size
    while (this.entries.size > this.options.maxEntries || this.characters > this.options.maxBytes) {
      const [oldest, entry] = this.entries.entries().next().value as [string, Entry]
      this.entries.delete(oldest)
      this.characters -= entry.size
    }
  }

  /** The catalog changed: nothing read before now may be served or kept. */
  bump (): void {
    this.generation++
    if (this.entries.size > 0) {
      this.entries = new Map()
      this.characters = 0
    }
  }
}

/**
 * The process's cache, and the invalidation: routes that change a public view declare
 * `config: { changesCatalog: true }` and bump the generation before their answer leaves.
 */
export default fp(async (app) => {
  const cache = new PublicReadCache(app.config.catalogCache, app.clock)
  app.decorate('publicReadCache', cache)
  if (!cache.enabled) return
  // Not on a refusal (4xx): it rolled back whatever it began. A 5xx may follow a commit.
  const bumpAfterWrite: onSendHookHandler = (_request, reply, payload, done) => {
    if (reply.statusCode < 400 || reply.statusCode >= 500) cache.bump()
    done(null, payload)
  }
  app.addHook('onRoute', (route) => {
    if (route.config?.changesCatalog === true) route.onSend = appendHook(route.onSend, bumpAfterWrite)
  })
}, { name: 'public-read-cache', dependencies: ['config'] })

/** A read that missed: when it began, and the 200 it produced, once known. */
type PendingRead = ReadStart & { body?: string }

/** A GET handler that answers from the cache, or runs and records when its read began. */
function answerFromCache (cache: PublicReadCache, reads: WeakMap<FastifyRequest, PendingRead>, handler: RouteHandlerMethod): RouteHandlerMethod {
  return function cachedRead (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
    const read = cache.begin()
    const hit = cache.lookup(request.url, read.at)
    if (hit === undefined) {
      reads.set(request, read)
      return handler.call(this, request, reply)
    }
    // A string with its content type is sent as is; the ETag hook sees the ETag and only decides on 304.
    reply.header('etag', hit.etag).header('content-type', hit.contentType).send(hit.body)
  } as RouteHandlerMethod
}

/**
 * Makes the GET routes of the calling scope cacheable (ETag, 304, Cache-Control) and kept by
 * the API: only for answers that are the same for every caller, whatever their credentials,
 * cookies or headers, and depend on nothing but the URL and the catalog.
 */
export async function cacheablePublicReads (scope: FastifyInstance): Promise<void> {
  const cache = scope.publicReadCache
  const reads = cache.enabled ? new WeakMap<FastifyRequest, PendingRead>() : null
  if (reads !== null) {
    // The handler is wrapped, not a hook added: every onRequest and preHandler hook (rate limit,
    // whatever another plugin adds) runs for a hit exactly as for a miss. HEAD routes pass by.
    scope.addHook('onRoute', (route) => {
      if (route.method === 'GET') route.handler = answerFromCache(cache, reads, route.handler as RouteHandlerMethod)
    })
    // Before the ETag hook turns a 200 into a 304 for a client revalidating (a CDN): kept anyway.
    scope.addHook('onSend', (request, reply, payload, done) => {
      const read = reads.get(request)
      if (read !== undefined && reply.statusCode === 200 && typeof payload === 'string') read.body = payload
      done(null, payload)
    })
  }
  await scope.register(etag, { weak: true })
  scope.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode === 200 || reply.statusCode === 304) reply.header('cache-control', PUBLIC_CACHE_CONTROL)
    return payload
  })
  if (reads === null) return
  // After the ETag hook: the body with the ETag it was given.
  scope.addHook('onSend', (request, reply, payload, done) => {
    const read = reads.get(request)
    if (read?.body !== undefined) cache.store(request.url, read, { body: read.body, etag: String(reply.getHeader('etag')), contentType: String(reply.getHeader('content-type')) })
    done(null, payload)
  })
}

declare module 'fastify' {
  interface FastifyInstance {
    publicReadCache: PublicReadCache
  }
  interface FastifyContextConfig {
    /** The route's writes can change what the public catalog shows: it invalidates the API's cache. */
    changesCatalog?: boolean
  }
}
