import fp from 'fastify-plugin'
import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import helmet, { type HelmetOptions } from 'helmet'
import ipaddr from 'ipaddr.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import cors from '@fastify/cors'
import jwt from '@fastify/jwt'
import rateLimit from '@fastify/rate-limit'
import type { Config } from '../config.ts'
import { TooManyRequests, notFoundHandler } from './errors.ts'
import { appendHook } from './route-hooks.ts'
import { allowedOrigins } from './public-url.ts'

// Headers, CORS, JWT and Redis-backed rate limits, in one place. Cookies are handled by the
// auth module, the only one that sets them, so other routes carry no cookie hooks.

/**
 * The headers helmet sets for a configuration, computed once. @fastify/helmet rebuilds the
 * helmet middleware on every request, which halved the throughput of a bare route when measured
 * (npm run bench); with a fixed configuration (no CSP nonces) the headers never change.
 */
export function helmetHeaders (options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const response = {
    setHeader: (name: string, value: string) => { headers[name.toLowerCase()] = String(value) },
    removeHeader: (name: string) => { delete headers[name.toLowerCase()] }
  }
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, () => {})
  return headers
}

/**
 * Requests to routes marked `limitedPerSession` whose credentials the authentication check has
 * verified (it runs first on those routes) are limited per session by that check. Everything
 * else is limited per IP: public routes, anonymous callers, and a request that merely carries
 * an Authorization header or a cookie (the check counts the ones it refuses here before
 * answering 401), so forged credentials buy no exemption. The check takes this limiter off
 * those routes altogether (no per-request cost); this exemption is the backstop.
 */
function limitedElsewhere (request: FastifyRequest): boolean {
  const config = request.routeOptions.config
  // A route's own, stricter limit (`rateLimit: {...}`) is never waived: it holds for signed-in callers too.
  return request.principal !== null && config?.limitedPerSession === true && config.rateLimit == null
}

/**
 * The client a per-IP limit counts: an IPv4 address (also written IPv4-mapped), or an IPv6
 * /64, the block one subscriber is given, so rotating through its addresses buys nothing.
 */
export function rateLimitedClient (ip: string): string {
  if (!ip.includes(':') || !ipaddr.isValid(ip)) return ip
  const address = ipaddr.parse(ip) as ipaddr.IPv6
  if (address.isIPv4MappedAddress()) return address.toIPv4Address().toString()
  return `${address.parts.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`
}

/**
 * Fastify's `trustProxy` for TRUST_PROXY. A hop count becomes a function: Fastify 5 reads a
 * bare number as "trust nobody" (it cannot check the peer), so "the nearest n hops are ours"
 * has to be said explicitly, and holds only where clients cannot reach the API directly.
 */
export function fastifyTrustProxy (setting: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting !== 'number') return setting
  return (_address, hop) => hop < setting
}

/**
 * Whether the request came through a trusted proxy: its peer is one and it forwarded the
 * client's address. Only then are headers the proxy or CDN adds (location) believed.
 */
export function cameThroughTrustedProxy (request: FastifyRequest): boolean {
  // `ips` is the peer followed by the forwarded addresses believed (set only with trustProxy).
  return (request.ips?.length ?? 0) > 1
}

export default fp(async (app) => {
  const { config } = app
  // The HMAC of a client IP, remembered for the busiest few thousand addresses.
  const ipKeys = new Map<string, string>()
  const ipKey = (ip: string): string => {
    let key = ipKeys.get(ip)
    if (key === undefined) {
      key = app.sealer.lookupHash(`ip:${ip}`).slice(0, 32)
      if (ipKeys.size >= 5000) ipKeys.delete(ipKeys.keys().next().value!)
      ipKeys.set(ip, key)
    }
    return key
  }

  // What matters for a JSON API (OWASP REST cheat sheet): no sniffing, no framing, HSTS in
  // production, and a CSP that forbids everything should a response ever be rendered. Headers meant for HTML documents are left out: each costs on every response.
  // Cross-Origin-Resource-Policy stays unset so storefronts on other origins can show our images.
  const securityHeaders = helmetHeaders({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginOpenerPolicy: false,
    crossOriginResourcePolicy: false,
    originAgentCluster: false,
    referrerPolicy: false,
    strictTransportSecurity: config.env === 'production' ? { maxAge: 31536000, includeSubDomains: true } : false,
    xContentTypeOptions: true,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xFrameOptions: { action: 'deny' },
    xPermittedCrossDomainPolicies: false,
    xPoweredBy: false,
    xXssProtection: false
  })
  // One hook for every response's standard headers: the security set and the request id.
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(securityHeaders)
    reply.header('x-request-id', request.id)
    done()
  })

  const origins = new Set(allowedOrigins(config))
  await app.register(cors, {
    // Decided per request: a foreign origin gets no CORS headers at all (its preflight is a plain
    // 404), not the method and credential allowances the list form sends every preflight.
    origin: (origin, callback) => callback(null, origin !== undefined && origins.has(origin)),
    credentials: true,
    // @fastify/cors allows only GET, HEAD and POST unless told: browser apps call every route.
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    // Every response header the API documents, readable by a front end on another allowed origin.
    exposedHeaders: ['x-request-id', 'retry-after', 'idempotent-replayed', 'location', 'etag'],
    maxAge: 600
  })

  await app.register(jwt, {
    secret: config.jwtSecret,
    sign: { algorithm: 'HS256' },
    // No verifier cache: the auth guard remembers the access tokens it verified (keyed by the
    // token itself; fast-jwt's cache hashes each token, a SHA-256 on every request).
    verify: { algorithms: ['HS256'] },
    cookie: { cookieName: 'access_token', signed: false }
  })

  await app.register(rateLimit, {
    // Attached below by our own onRoute hook, as one shared handler that the auth guard can
    // take off the routes where it does the limiting itself.
    global: false,
    max: config.rateLimitMax,
    timeWindow: 60_000,
    redis: app.redis,
    nameSpace: 'rl:',
    // Keyed by a keyed hash of the IP: no client address sits in a Redis key name.
    keyGenerator: (request) => ipKey(rateLimitedClient(request.ip)),
    allowList: limitedElsewhere,
    // Redis down must not take the API down with it; health checks report the outage.
    skipOnError: true,
    errorResponseBuilder: (_request, context) =>
      TooManyRequests('RATE_LIMITED', `Too many requests; retry in ${context.after}.`)
  })
  // The per-IP limit, on every route that does not set its own (`rateLimit: {...}`) or opt out.
  const limitPerIp = app.rateLimit()
  app.decorate('limitPerIp', limitPerIp)
  app.addHook('onRoute', (route) => {
    if (route.config?.rateLimit == null) route.onRequest = appendHook(route.onRequest, limitPerIp)
  })
  // Probing unknown paths counts against the limit too (and is measured, with metrics on).
  app.setNotFoundHandler({ preHandler: [app.measureNotFound, limitPerIp] }, notFoundHandler)
}, { name: 'security', dependencies: ['config', 'redis', 'metrics'] })

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's signed-in callers are rate limited per session (see limitedElsewhere). */
    limitedPerSession?: boolean
  }
  interface FastifyInstance {
    /**
     * The per-IP limiter's hook, one function shared by every route it is on: a plugin that
     * limits a route's callers itself may take it off (the auth guard, for required sign-ins).
     */
    limitPerIp: onRequestHookHandler
  }
}
