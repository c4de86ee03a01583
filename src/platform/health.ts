import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { pingDatabase } from './db.ts'
import { ServiceUnavailable, sendProblem, Problem } from './errors.ts'

// SPEC 10. Liveness says the process runs; readiness says it can serve (Postgres and Redis
// answer and it is not shutting down). Probes are neither rate limited nor logged at info.

const CHECK_TIMEOUT_MS = 1500

const Check = Type.Object({
  status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  latencyMs: Type.Optional(Type.Number()),
  error: Type.Optional(Type.String())
})

const Ready = Type.Object({
  status: Type.Literal('ok'),
  checks: Type.Object({ postgres: Check, redis: Check })
}, { examples: [{ status: 'ok', checks: { postgres: { status: 'up', latencyMs: 0.6 }, redis: { status: 'up', latencyMs: 0.3 } } }] })

const DatabaseHealth = Type.Object({
  status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  latencyMs: Type.Union([Type.Number(), Type.Null()]),
  pool: Type.Object({ total: Type.Integer(), idle: Type.Integer(), waiting: Type.Integer(), max: Type.Integer() })
}, { examples: [{ status: 'up', latencyMs: 0.7, pool: { total: 2, idle: 2, waiting: 0, max: 10 } }] })

async function timed (check: () => Promise<unknown>): Promise<{ status: 'up' | 'down', latencyMs?: number, error?: string }> {
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      check(),
      new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS) })
    ])
    return { status: 'up', latencyMs: Math.round((performance.now() - started) * 100) / 100 }
  } catch (err) {
    return { status: 'down', error: (err as Error).message || 'unreachable' }
  } finally {
    clearTimeout(timer)
  }
}

// Probes are for load balancers, not browsers: no rate limit, no per-request log line, no CORS.
const probe = { rateLimit: false, probe: true, cors: false } as const

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health/live', {
    config: probe,
    schema: {
      tags: ['health'],
      summary: 'Liveness: 200 while the process runs',
      response: { 200: Type.Object({ status: Type.Literal('ok') }, { examples: [{ status: 'ok' }] }) }
    }
  }, async () => ({ status: 'ok' as const }))

  const readiness = async (_request: unknown, reply: import('fastify').FastifyReply) => {
    if (app.lifecycle.shuttingDown) {
      return sendProblem(reply, ServiceUnavailable('SHUTTING_DOWN', 'The server is shutting down.', {
        checks: { postgres: { status: 'down', error: 'shutting down' }, redis: { status: 'down', error: 'shutting down' } }
      }))
    }
    const [postgres, redis] = await Promise.all([
      timed(() => pingDatabase(app.db)),
      timed(() => app.redis.ping())
    ])
    const checks = { postgres, redis }
    const failed = Object.entries(checks).filter(([, c]) => c.status === 'down').map(([name]) => name)
    if (failed.length > 0) {
      return sendProblem(reply, ServiceUnavailable('NOT_READY', `Unavailable: ${failed.join(', ')}`, { checks }))
    }
    return { status: 'ok' as const, checks }
  }

  const readySchema = {
    tags: ['health'],
    response: { 200: Ready, 503: Problem }
  }
  app.get('/health/ready', { config: probe, schema: { ...readySchema, summary: 'Readiness: Postgres and Redis answer and the server is not shutting down' } }, readiness)
  app.get('/health', { config: probe, schema: { ...readySchema, summary: 'Alias of /health/ready for load balancers' } }, readiness)

  app.get('/health/database', {
    config: probe,
    schema: {
      tags: ['health'],
      summary: 'Database latency and connection pool figures',
      response: { 200: DatabaseHealth, 503: DatabaseHealth }
    }
  }, async (_request, reply) => {
    const check = await timed(() => pingDatabase(app.db))
    const pool = { total: app.pgPool.totalCount, idle: app.pgPool.idleCount, waiting: app.pgPool.waitingCount, max: app.config.databasePoolMax }
    return reply.code(check.status === 'up' ? 200 : 503).send({ status: check.status, latencyMs: check.latencyMs ?? null, pool })
  })
}

export default health
