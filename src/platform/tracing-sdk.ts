import { context, propagation, trace, SpanKind, SpanStatusCode, TraceFlags, type Attributes, type Context, type Link, type Span } from '@opentelemetry/api'
import { BatchSpanProcessor, NodeTracerProvider, ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler, type Sampler, type SamplingResult, type SpanExporter } from '@opentelemetry/sdk-trace-node'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import { BullMQOtel } from 'bullmq-otel'
import fp from 'fastify-plugin'
import type { RedisClient } from './redis.ts'
import type pg from 'pg'
import type { Config } from '../config.ts'
import type { ProcessRole, Tracing } from './tracing.ts'

// The OpenTelemetry SDK, loaded only when tracing is on (see tracing.ts). Postgres and Redis
// spans are made here, at the pg client and ioredis client we create: the usual require-hook
// instrumentations cannot patch ES modules without a loader. A statement or command run outside
// any span (pool upkeep, BullMQ's polling) starts no trace of its own.

// Root spans that would each be a trace about nothing are not recorded, nor their children:
// BullMQ's housekeeping (stalled-job checks every two seconds per queue, lock renewals, closing)
// and the outbox relay's poll, every second, rows or not (a row carries the trace context of the
// request that wrote it, and its job is processed in that trace).
const HOUSEKEEPING = /^(?:(?:moveStalledJobsToWait|startStalledCheckTimer|extendLocks|close) |add outbox\.relay$)/

class SkipHousekeeping implements Sampler {
  constructor (private readonly inner: Sampler) {}

  shouldSample (parent: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    if (trace.getSpan(parent) === undefined && HOUSEKEEPING.test(name)) return { decision: SamplingDecision.NOT_RECORD }
    return this.inner.shouldSample(parent, traceId, name, kind, attributes, links)
  }

  toString (): string {
    return `SkipHousekeeping{${this.inner.toString()}}`
  }
}

/** OTEL_EXPORTER_OTLP_HEADERS: `key=value` pairs, comma-separated, URL-encoded (the OTLP spec's form). */
export function parseOtlpHeaders (list: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const pair of (list ?? '').split(',')) {
    const at = pair.indexOf('=')
    if (at > 0) headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim())
  }
  return headers
}

function failed (span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err))
  span.recordException(error)
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
  span.end()
}

type QueryFn = (config: unknown, values?: unknown, callback?: unknown) => unknown
type CommandLike = { name: string, promise: Promise<unknown> }
type Sender = (command: CommandLike, ...rest: unknown[]) => unknown

// Where a command was issued. The API's client pipelines automatically: commands issued in one
// tick are written together a tick later, in the context of whichever request queued first, so
// each command carries its own caller's context from the moment it is queued.
const ISSUED_IN = Symbol('bazaar.redis.issuedIn')
const TRACED = Symbol('bazaar.redis.traced')

export function createTracing (settings: Config['tracing'], role: ProcessRole, exporter?: SpanExporter): Tracing {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName ?? `bazaar-${role}` }),
    sampler: new SkipHousekeeping(new ParentBasedSampler({
      root: new TraceIdRatioBasedSampler(settings.sampleRatio),
      // A caller's sampled traceparent does not force recording: the ratio applies to it too.
      remoteParentSampled: new TraceIdRatioBasedSampler(settings.sampleRatio)
    })),
    spanProcessors: [new BatchSpanProcessor(exporter ?? new OTLPTraceExporter({
      url: `${settings.endpoint!.replace(/\/+$/, '')}/v1/traces`,
      headers: parseOtlpHeaders(settings.headers)
    }))]
  })
  // The global provider, an AsyncLocalStorage context manager, W3C trace context propagation.
  provider.register()
  const tracer = trace.getTracer('bazaar')

  const http = new FastifyOtelInstrumentation({
    // A span per request and per handler; one per hook as well would multiply them by ten.
    instrumentHooks: false,
    requestHook: (span, request) => {
      span.updateName(`${request.method} ${request.routeOptions.url ?? 'unmatched'}`)
      span.setAttribute('http.request.id', request.id)
      // The path only: a query can carry an email, a reset token or a sign-up code (the same
      // reason request lines log parameter names only).
      span.setAttribute('url.path', request.url.split('?', 1)[0]!)
    },
    // Named by the route, not by the function (often an anonymous plugin's whole source).
    lifecycleHook: (span, { hookName, request }) => span.updateName(`${hookName} ${request.routeOptions.url}`)
  })
  http.setTracerProvider(provider)
  const httpPlugin = fp(async (app) => {
    // Probes (a load balancer calls them every few seconds) start no trace.
    app.addHook('onRoute', (route) => {
      if (route.config?.probe === true) route.config = { ...route.config, otel: false }
    })
    await app.register(http.plugin())
  }, { name: 'tracing' })

  const clientSpan = (name: string, parent: Context, attributes: Attributes): Span =>
    tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent)

  return {
    httpPlugin,
    bullmq: new BullMQOtel(),

    instrumentPgClient (client) {
      const query = client.query.bind(client) as QueryFn
      const database = (client as pg.PoolClient & { database?: string }).database
      const traced: QueryFn = (config, values, callback) => {
        const parent = context.active()
        // Kysely's form: query(sql, parameters), awaited. Any other passes untraced (we use none).
        if (typeof config !== 'string' || !Array.isArray(values) || callback !== undefined || trace.getSpan(parent) === undefined) {
          return query(config, values, callback)
        }
        // Kysely's SQL carries $n placeholders, never values: the text is safe to export.
        const operation = /^\s*([A-Za-z]+)/.exec(config)?.[1]?.toLowerCase() ?? 'query'
        const span = clientSpan(operation, parent, { 'db.system.name': 'postgresql', 'db.namespace': database, 'db.operation.name': operation, 'db.query.text': config })
        const result = query(config, values) as Promise<unknown>
        result.then(() => span.end(), (err: unknown) => failed(span, err))
        return result
      }
      client.query = traced as typeof client.query
    },

    instrumentRedis (client) {
      const send = client.sendCommand.bind(client) as unknown as Sender
      const traced: Sender = (command, ...rest) => {
        const marked = command as CommandLike & { [ISSUED_IN]?: Context, [TRACED]?: true }
        const parent = marked[ISSUED_IN] ?? context.active()
        // A command may pass here again (the offline queue, a resend after a reconnect): one span.
        if (marked[TRACED] || trace.getSpan(parent) === undefined) return send(command, ...rest)
        marked[TRACED] = true
        // The name only: arguments are keys and values, and values can be personal.
        const span = clientSpan(command.name, parent, { 'db.system.name': 'redis', 'db.operation.name': command.name })
        command.promise.then(() => span.end(), (err: unknown) => failed(span, err))
        return send(command, ...rest)
      }
      ;(client as unknown as { sendCommand: Sender }).sendCommand = traced
      const pipeline = client.pipeline.bind(client)
      client.pipeline = ((commands?: unknown[][]) => {
        const batch = pipeline(commands) as unknown as { sendCommand: Sender }
        const queue = batch.sendCommand.bind(batch)
        batch.sendCommand = (command, ...rest) => {
          (command as CommandLike & { [ISSUED_IN]?: Context })[ISSUED_IN] = context.active()
          return queue(command, ...rest)
        }
        return batch
      }) as unknown as RedisClient['pipeline']
    },

    logMixin (): Record<string, string> {
      const span = trace.getSpan(context.active())
      if (span === undefined) return {}
      const { traceId, spanId, traceFlags } = span.spanContext()
      // A trace that is not recorded leads nowhere: its id would only mislead.
      return traceFlags & TraceFlags.SAMPLED ? { traceId, spanId } : {}
    },

    traceparent () {
      const carrier: { traceparent?: string } = {}
      propagation.inject(context.active(), carrier)
      return carrier.traceparent ?? null
    },

    flush: () => provider.forceFlush(),

    async shutdown () {
      http.disable()
      await provider.shutdown()
      trace.disable()
      context.disable()
      propagation.disable()
    }
  }
}
