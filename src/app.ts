import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Logger } from 'pino'
import type { Config } from './config.ts'
import { systemClock, systemRandom, type Clock, type Random } from './platform/clock.ts'
import { core, deps } from './platform/core.ts'
import { createLogger } from './platform/logger.ts'
import { activeTracing } from './platform/tracing.ts'
import { lazyChildLoggerFactory } from './platform/lazy-logger.ts'
import { generateRequestId, RequestLog } from './platform/request-log.ts'
import { ajvOptions, buildBodyStrictValidator } from './platform/validation.ts'
import errors, { frameworkError } from './platform/errors.ts'
import db, { type QueryListener } from './platform/db.ts'
import redis from './platform/redis.ts'
import queues from './platform/queues.ts'
import storage from './platform/storage.ts'
import metrics from './platform/request-metrics.ts'
import principal from './platform/principal.ts'
import security, { fastifyTrustProxy } from './platform/security.ts'
import idempotency from './platform/idempotency.ts'
import publicReadCache from './platform/http-cache.ts'
import docs from './platform/docs.ts'
import health from './platform/health.ts'
import files from './platform/files.ts'
import queueDashboard from './platform/queue-dashboard.ts'
import mailPreview from './platform/mail-preview.ts'
import adminPage from './platform/admin-page.ts'
import { createPaymentGateway } from './platform/payment-provider.ts'
import { createConnectGateway } from './platform/payment-connect.ts'
import { sharedSchemas } from './schemas.ts'
import { redisScripts } from './redis-scripts.ts'
import { authCounters, authGuard } from './modules/auth/public.ts'
import auth from './modules/auth/index.ts'
import sessions from './modules/sessions/index.ts'
import workspaces from './modules/workspaces/index.ts'
import { membershipRole, workspaceGuard } from './modules/workspaces/public.ts'
import users from './modules/users/index.ts'
import vendorProfiles from './modules/vendor-profiles/index.ts'
import products from './modules/products/index.ts'
import { retireWorkspaceProducts, syncListing } from './modules/products/public.ts'
import cart from './modules/cart/index.ts'
import { getCart } from './modules/cart/public.ts'
import promotions from './modules/promotions/index.ts'
import orders from './modules/orders/index.ts'
import { orderCounters } from './modules/orders/public.ts'
import payments from './modules/payments/index.ts'
import payouts from './modules/payouts/index.ts'
import ledger from './modules/ledger/index.ts'
import shipping from './modules/shipping/index.ts'
import taxes from './modules/taxes/index.ts'

export interface AppOptions {
  clock?: Clock
  random?: Random
  /** A pino logger; defaults to ours (redaction, level, asynchronous output). */
  logger?: Logger
  /** Extra plugins registered after the domains (tests and tools use this). */
  plugins?: FastifyPluginAsync[]
  /** Sees the SQL of every statement the app runs (tests and benchmarks count them). */
  onQuery?: QueryListener
}

/** The API: the platform's plugins, then one plugin per domain. */
export async function buildApp (config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = options.logger ?? createLogger(config, 'api')
  const app = Fastify({
    loggerInstance: logger,
    genReqId: (req) => generateRequestId(req.headers['x-request-id']),
    logController: new RequestLog({ requestIdLogLabel: 'requestId' }),
    childLoggerFactory: lazyChildLoggerFactory,
    trustProxy: fastifyTrustProxy(config.trustProxy),
    ajv: ajvOptions,
    frameworkErrors: frameworkError,
    schemaController: { compilersFactory: { buildValidator: buildBodyStrictValidator } }
  }).withTypeProvider<TypeBoxTypeProvider>()

  // Traced (OTEL_EXPORTER_OTLP_ENDPOINT), first: every later hook runs inside the request's span.
  const tracing = activeTracing()
  if (tracing) await app.register(tracing.httpPlugin)
  await app.register(core, { config, clock: options.clock ?? systemClock, random: options.random ?? systemRandom })
  await app.register(errors)
  await app.register(db, { onQuery: options.onQuery })
  await app.register(redis, { scripts: redisScripts })
  await app.register(queues)
  await app.register(storage)
  // Before every route: with METRICS_TOKEN set, each route is measured (see request-metrics.ts).
  await app.register(metrics, { counters: [...Object.values(authCounters), ...Object.values(orderCounters)] })
  await app.register(deps)
  await app.register(principal)
  await app.register(security)
  await app.register(idempotency)
  await app.register(publicReadCache)
  await app.register(docs)
  for (const schema of sharedSchemas) app.addSchema(schema)
  await app.register(authGuard)
  await app.register(workspaceGuard)

  await app.register(health)
  await app.register(files)
  await app.register(queueDashboard)
  // Development without SMTP only (config.mailPreview): the mail outbox at /dev/mail.
  await app.register(mailPreview)
  await app.register(adminPage)
  await app.register(auth)
  await app.register(sessions, { membershipRole })
  // Lower modules change inputs of products' on-sale rule; syncListing keeps the catalog's copy in step.
  await app.register(workspaces, { retireContent: [retireWorkspaceProducts], syncListing })
  await app.register(users, { syncListing })
  await app.register(vendorProfiles, { syncListing })
  await app.register(products)
  await app.register(cart)
  // The cart's code is applied by promotions, which answers with the cart as the cart module reads it.
  await app.register(promotions, { readCart: getCart })
  await app.register(shipping)
  await app.register(taxes)
  const gateway = createPaymentGateway(config)
  await app.register(orders, { gateway })
  const connect = createConnectGateway(config)
  await app.register(payments, { gateway, connect })
  await app.register(payouts, { connect })
  await app.register(ledger)

  for (const plugin of options.plugins ?? []) await app.register(plugin)
  return app
}
