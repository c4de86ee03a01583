import type { FastifyPluginAsync } from 'fastify'
import type { Telemetry } from 'bullmq'
import type { RedisClient } from './redis.ts'
import type pg from 'pg'
import type { SpanExporter } from '@opentelemetry/sdk-trace-node'
import type { Config } from '../config.ts'

// OpenTelemetry traces, on only when OTEL_EXPORTER_OTLP_ENDPOINT is set. A process entry (the
// API, the worker) starts tracing once, before it opens any connection; what opens one (the pg
// pool, Redis clients, queues, workers, loggers, the Fastify app) asks `activeTracing()` then,
// at creation, and instruments itself. Off, the SDK is never loaded (tracing-sdk.ts is imported
// dynamically) and nothing is added to any request, statement or command.

export type ProcessRole = 'api' | 'worker'

export interface Tracing {
  /** HTTP server spans (@fastify/otel); registered first, so every hook runs in the request's span. */
  httpPlugin: FastifyPluginAsync
  /** BullMQ's telemetry option for Queues and Workers: producer and consumer spans, context in job options. */
  bullmq: Telemetry
  /** One span per statement run on this connection. */
  instrumentPgClient: (client: pg.PoolClient) => void
  /** One span per command sent by this client. */
  instrumentRedis: (client: RedisClient) => void
  /** pino's mixin: the active span's ids on every log line. */
  logMixin: () => Record<string, string>
  /** The active span's W3C traceparent, or null outside any recorded span. */
  traceparent: () => string | null
  /** Exports the spans that have ended so far. */
  flush: () => Promise<void>
  shutdown: () => Promise<void>
}

export interface TracingOptions {
  /** Where spans go instead of the OTLP endpoint (tests pass an InMemorySpanExporter). */
  exporter?: SpanExporter
}

let active: Tracing | undefined

/**
 * Starts tracing for this process when the configuration asks for it (or an exporter is given);
 * returns undefined, having loaded nothing, when it does not.
 */
export async function startTracing (config: Pick<Config, 'tracing'>, role: ProcessRole, options: TracingOptions = {}): Promise<Tracing | undefined> {
  if (active) throw new Error('tracing is already started in this process')
  if (config.tracing.endpoint === undefined && options.exporter === undefined) return undefined
  const { createTracing } = await import('./tracing-sdk.ts')
  active = createTracing(config.tracing, role, options.exporter)
  return active
}

/** The process's tracing, if started: asked once by what it instruments, when that is created. */
export function activeTracing (): Tracing | undefined {
  return active
}

/** Exports what is pending and turns tracing off (process exit, test teardown). */
export async function stopTracing (): Promise<void> {
  const tracing = active
  active = undefined
  await tracing?.shutdown()
}

/** What an outbox row keeps of the trace that wrote it (null with tracing off). */
export function currentTraceparent (): string | null {
  return active ? active.traceparent() : null
}

/**
 * BullMQ job options that make a job's processing part of the trace a traceparent names (the
 * outbox relay, for a row written during a request). The metadata is what bullmq-otel's context
 * manager reads: the W3C propagation carrier as JSON.
 */
export function jobTraceOptions (traceparent: string | null): { telemetry?: { metadata: string } } {
  return traceparent ? { telemetry: { metadata: JSON.stringify({ traceparent }) } } : {}
}
