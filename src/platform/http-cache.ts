import etag from '@fastify/etag'
import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'

// Public reads a browser or a CDN may keep: every 200 carries an ETag (a hash of the body, so
// it changes exactly when the answer does) and answers 304 to a matching If-None-Match.
// Browsers revalidate every time (max-age=0); a shared cache may answer for
// SHARED_MAX_AGE_S seconds before it revalidates, the bound on how stale a CDN's copy gets.

export const SHARED_MAX_AGE_S = 5
export const PUBLIC_CACHE_CONTROL = `public, max-age=0, must-revalidate, s-maxage=${SHARED_MAX_AGE_S}`

/** The 304 of a cacheable route, for its response map (and so the API docs). */
export const NotModified = Type.Null({ description: 'Not Modified: If-None-Match names the current ETag; no body' })

/** Makes the routes of the calling scope (public, identical for every caller) cacheable. */
export async function cacheablePublicReads (scope: FastifyInstance): Promise<void> {
  await scope.register(etag, { weak: true })
  scope.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode === 200 || reply.statusCode === 304) reply.header('cache-control', PUBLIC_CACHE_CONTROL)
    return payload
  })
}
