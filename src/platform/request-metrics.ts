import fp from 'fastify-plugin'
import type { onResponseHookHandler, preHandlerHookHandler } from 'fastify'
import type { Histogram } from 'prom-client'
import { sendProblem, Unauthorized } from './errors.ts'
import { collectPool, collectQueueDepths, collectRedis } from './metrics-collectors.ts'
import { collectProcessMetrics, defineHistogram, Metrics, METRICS_CHALLENGE, metricsTokenCheck, type CounterDefinition } from './metrics.ts'
import { appendHook } from './route-hooks.ts'

// The API's metrics: `app.metrics` (the registry domain services count into, through deps),
// and, only when METRICS_TOKEN is set, GET /metrics for Prometheus and a request histogram.
// Without the token nothing is measured per request and /metrics is an unknown route (404).
//
// The histogram is labelled by route pattern (`/products/:id`, never the URL: ids would make a
// series per product), method and status. Each route gets its observer as a route hook of its
// own (onRoute), so routes that opt out carry none: health probes (`config.probe`), which load
// balancers call every few seconds and whose liveness must stay as cheap as it can be. A hook
// added to the root instance would reach every route (Fastify hands it to every child context),
// so unknown paths are measured by the not-found handler's own hook (measureNotFound).

export const REQUEST_DURATION = defineHistogram({
  name: 'bazaar_http_request_duration_seconds',
  help: 'HTTP requests answered, by route pattern (unmatched: no route), method and status code; _count is the request count',
  labelNames: ['route', 'method', 'status_code'],
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
})

/** The label of requests no route matched: one series however many paths are probed. */
export const UNMATCHED_ROUTE = 'unmatched'

type RequestHistogram = Histogram<'route' | 'method' | 'status_code'>

function observer (histogram: RequestHistogram, route: string): onResponseHookHandler {
  return function observeRequest (request, reply, done) {
    histogram.observe({ route, method: request.method, status_code: reply.statusCode }, reply.elapsedTime / 1000)
    done()
  }
}

/** For the not-found handler's preHandler (security.ts): observed once the answer is written. */
function unmatchedObserver (histogram: RequestHistogram): preHandlerHookHandler {
  return function measureNotFound (request, reply, done) {
    reply.raw.once('finish', () => {
      histogram.observe({ route: UNMATCHED_ROUTE, method: request.method, status_code: reply.statusCode }, reply.elapsedTime / 1000)
    })
    done()
  }
}

const measureNothing: preHandlerHookHandler = (_request, _reply, done) => done()

/** Registered before any route (app.ts), so its onRoute hook sees them all. */
export default fp(async (app, options: { counters?: ReadonlyArray<CounterDefinition<any>> }) => {
  const metrics = new Metrics(options.counters)
  app.decorate('metrics', metrics)
  const token = app.config.metricsToken
  if (token === undefined) {
    app.decorate('measureNotFound', measureNothing)
    return
  }

  collectProcessMetrics()
  collectPool(metrics, app.pgPool, app.config.databasePoolMax)
  collectRedis(metrics, { api: app.redis }, app.redis)
  collectQueueDepths(metrics, app.queues)
  const histogram = metrics.histogram(REQUEST_DURATION)
  app.decorate('measureNotFound', unmatchedObserver(histogram))
  const authorized = metricsTokenCheck(token)

  // Declared before the onRoute hook below (a scrape is not a request worth a series) and
  // before the limiter's, auth guard's and OpenAPI's hooks: no rate limit (the token is the
  // guard), no session lookup, not in the document.
  app.get('/metrics', { config: { probe: true, rateLimit: false, cors: false }, schema: { hide: true } }, async (request, reply) => {
    if (!authorized(request.headers.authorization)) {
      reply.header('www-authenticate', METRICS_CHALLENGE)
      return sendProblem(reply, Unauthorized('UNAUTHORIZED', 'The metrics token is missing or wrong.'))
    }
    return reply.type(metrics.contentType).send(await metrics.exposition())
  })

  app.addHook('onRoute', (route) => {
    if (route.config?.probe === true) return
    route.onResponse = appendHook(route.onResponse, observer(histogram, route.url))
  })
}, { name: 'metrics', dependencies: ['config', 'db', 'redis', 'queues'] })

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
    /** The not-found handler's first preHandler: measures unknown paths (a no-op without METRICS_TOKEN). */
    measureNotFound: preHandlerHookHandler
  }
}
