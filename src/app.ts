import Fastify, { LogController, type FastifyInstance, type FastifyBaseLogger, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import AjvCompiler from '@fastify/ajv-compiler'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { randomBytes } from 'node:crypto'
import type { Config } from './config.ts'
import { createLogger } from './platform/logger.ts'
import { lazyChildLoggerFactory } from './platform/lazy-logger.ts'
import { systemClock, systemRandom, type Clock, type Random } from './platform/clock.ts'
import { createSealer, type Sealer } from './platform/crypto.ts'
import errors from './platform/errors.ts'
import db, { type QueryListener } from './platform/db.ts'
import redis from './platform/redis.ts'
import queues from './platform/queues.ts'
import storage from './platform/storage.ts'
import principal from './platform/principal.ts'
import security, { fastifyTrustProxy } from './platform/security.ts'
import idempotency from './platform/idempotency.ts'
import docs from './platform/docs.ts'
import health from './platform/health.ts'
import files from './platform/files.ts'
import type { Deps } from './platform/deps.ts'
import { sharedSchemas } from './schemas.ts'
import { jsonLimitsAjvPlugin } from './platform/schema-types.ts'
import { redisScripts } from './redis-scripts.ts'
import authGuard from './modules/auth/guard.ts'
import auth from './modules/auth/index.ts'
import sessions from './modules/sessions/index.ts'
import workspaceGuard from './modules/workspaces/guard.ts'
import workspaces from './modules/workspaces/index.ts'
import users from './modules/users/index.ts'
import vendorProfiles from './modules/vendor-profiles/index.ts'
import products from './modules/products/index.ts'
import cart from './modules/cart/index.ts'
import orders from './modules/orders/index.ts'
import payments from './modules/payments/index.ts'
import { createPaymentGateway } from './modules/payments/gateway.ts'
import queueDashboard from './platform/queue-dashboard.ts'

export interface AppOptions {
  clock?: Clock
  random?: Random
  /** A pino logger; defaults to ours (redaction, level, asynchronous output). */
  logger?: FastifyBaseLogger
  /** Extra plugins registered after the domains (tests and tools use this). */
  plugins?: FastifyPluginAsync[]
  /** Sees the SQL of every statement the app runs (tests and benchmarks count them). */
  onQuery?: QueryListener
}

export interface Lifecycle { shuttingDown: boolean }

// A client's request id is reused when it is sane; otherwise we mint one: a random prefix per
// process and a counter, unique across copies and cheaper than a UUID per request.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/
const requestIdPrefix = randomBytes(6).toString('hex')
let requestCounter = 0
function generateRequestId (given: string | string[] | undefined): string {
  if (typeof given === 'string' && REQUEST_ID.test(given)) return given
  requestCounter = (requestCounter + 1) % Number.MAX_SAFE_INTEGER
  return `${requestIdPrefix}-${requestCounter.toString(36)}`
}

/**
 * The path, and the names of the query parameters without their values: queries carry search
 * terms (an admin looking a user up by email) and other personal data that logs must not keep.
 */
function loggedUrl (url: string): string {
  const at = url.indexOf('?')
  if (at < 0) return url
  const names = [...new URLSearchParams(url.slice(at + 1)).keys()]
  return `${url.slice(0, at)}?${names.map((name) => `${encodeURIComponent(name)}=…`).join('&')}`
}

/** One line per request, when it completes; the 'incoming request' line only at debug. */
class RequestLog extends LogController {
  /** Health probes are not logged: load balancers call them every few seconds. */
  override isLogDisabled (request: FastifyRequest): boolean {
    return request.routeOptions?.config?.probe === true || super.isLogDisabled(request)
  }

  override incomingRequest (request: FastifyRequest): void {
    if (!this.isLogDisabled(request)) request.log.debug({ method: request.method, url: loggedUrl(request.url) }, 'incoming request')
  }

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    const line = { method: request.method, url: loggedUrl(request.url), statusCode: reply.statusCode, responseTime: Math.round(reply.elapsedTime * 10) / 10 }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request completed')
  }
}

const core = fp(async (app, options: { config: Config, clock: Clock, random: Random }) => {
  app.decorate('config', options.config)
  app.decorate('clock', options.clock)
  app.decorate('random', options.random)
  app.decorate('sealer', createSealer(options.config.encryptionKey))
  app.decorate('lifecycle', { shuttingDown: false })
}, { name: 'config' })

/** The explicit dependencies domain services take, built once from the platform decorations. */
const deps = fp(async (app) => {
  const value: Deps = {
    config: app.config,
    db: app.db,
    redis: app.redis,
    queues: app.queues,
    sealer: app.sealer,
    clock: app.clock,
    random: app.random,
    storage: app.storage,
    log: app.log
  }
  app.decorate('deps', value)
}, { name: 'deps', dependencies: ['config', 'db', 'redis', 'queues', 'storage'] })

/**
 * Query strings, params and headers arrive as text and are coerced to their schema's types;
 * JSON bodies are typed already and are not: `{"quantity": "2"}`, `true` or `[3]` for an integer
 * is a 400 naming the field, never silently read as a number.
 */
const coercingCompiler = AjvCompiler()
const strictCompiler = AjvCompiler()
const buildBodyStrictValidator: AjvCompiler.BuildCompilerFromPool = (externalSchemas, options) => {
  const coercing = coercingCompiler(externalSchemas, options)
  const strict = strictCompiler(externalSchemas, { ...options, customOptions: { ...options?.customOptions, coerceTypes: false } } as typeof options)
  // At run time Fastify passes { schema, method, url, httpPart } (the package's types say a schema).
  type Route = Parameters<typeof strict>[0]
  return ((route: Route & { httpPart?: string }) => route.httpPart === 'body' ? strict(route) : coercing(route)) as typeof strict
}

export async function buildApp (config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger ?? createLogger(config, 'api'),
    genReqId: (req) => generateRequestId(req.headers['x-request-id']),
    logController: new RequestLog({ requestIdLogLabel: 'requestId' }),
    childLoggerFactory: lazyChildLoggerFactory,
    trustProxy: fastifyTrustProxy(config.trustProxy),
    // The x-json-limits keyword bounds free-form JSON (schema-types.ts FreeFormObject).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true }, plugins: [jsonLimitsAjvPlugin] },
    schemaController: { compilersFactory: { buildValidator: buildBodyStrictValidator } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(core, { config, clock: options.clock ?? systemClock, random: options.random ?? systemRandom })
  await app.register(errors)
  await app.register(db, { onQuery: options.onQuery })
  await app.register(redis, { scripts: redisScripts })
  await app.register(queues)
  await app.register(storage)
  await app.register(deps)
  await app.register(principal)
  await app.register(security)
  await app.register(idempotency)
  await app.register(docs)
  for (const schema of sharedSchemas) app.addSchema(schema)
  await app.register(authGuard)
  await app.register(workspaceGuard)

  await app.register(health)
  await app.register(files)
  await app.register(queueDashboard)
  await app.register(auth)
  await app.register(sessions)
  await app.register(workspaces)
  await app.register(users)
  await app.register(vendorProfiles)
  await app.register(products)
  await app.register(cart)
  const gateway = createPaymentGateway(config)
  await app.register(orders, { gateway })
  await app.register(payments, { gateway })

  for (const plugin of options.plugins ?? []) await app.register(plugin)
  return app
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A health probe: never logged per request, never rate limited. */
    probe?: boolean
  }
  interface FastifyInstance {
    config: Config
    clock: Clock
    random: Random
    sealer: Sealer
    lifecycle: Lifecycle
    deps: Deps
  }
}
