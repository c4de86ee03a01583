import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { sql } from 'kysely'
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
  pool: Type.Object({ total: Type.Integer(), idle: Type.Integer(), waiting: Type.Integer(), max: Type.Integer() }),
  error: Type.Optional(Type.String({ description: 'why it is down (platform admins only)' })),
  replica: Type.Optional(Type.Object({
    state: Type.Union(['starting', 'caught-up', 'lagging', 'unreachable', 'not-a-replica'].map((s) => Type.Literal(s)), {
      description: 'caught-up: public reads use the replica; any other state sends them to the primary'
    }),
    lagBytes: Type.Union([Type.Integer(), Type.Null()], { description: 'WAL not yet replayed at the last check' })
  }, { description: 'the read replica (DATABASE_READ_URL), when one is configured; never fails this check' }))
}, { examples: [{ status: 'up', latencyMs: 0.7, pool: { total: 2, idle: 2, waiting: 0, max: 10 } }] })

type CheckResult = { status: 'up' | 'down', latencyMs?: number, error?: string }

/**
 * Error text can name hosts, databases and users: anonymous callers (load balancers) get up or
 * down; platform admins (a bearer token on the probe) also get why.
 */
function visible (check: CheckResult, admin: boolean): CheckResult {
  if (admin || check.error === undefined) return check
  const { error: _hidden, ...rest } = check
  return rest
}

async function timed (check: () => Promise<unknown>): Promise<CheckResult> {
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
// Liveness has nothing to hide and runs no hook at all; the checks that can fail read an
// optional token (without one, no Redis round trip) so platform admins see why.
const liveProbe = { rateLimit: false, probe: true, cors: false } as const
const probe = { ...liveProbe, auth: 'optional' } as const

const isAdmin = (request: FastifyRequest) => request.principal?.type === 'admin'

const DatabasePerformance = Type.Object({
  cacheHitRatio: Type.Union([Type.Number(), Type.Null()], { description: 'share of block reads served from shared buffers' }),
  connections: Type.Array(Type.Object({ state: Type.String(), count: Type.Integer() })),
  pool: Type.Object({ total: Type.Integer(), idle: Type.Integer(), waiting: Type.Integer(), max: Type.Integer() }),
  slowestStatements: Type.Union([Type.Array(Type.Object({
    query: Type.String(),
    calls: Type.Integer(),
    meanMs: Type.Number(),
    totalMs: Type.Number()
  })), Type.Null()], { description: 'null when pg_stat_statements is not installed and preloaded' }),
  note: Type.Optional(Type.String())
}, { examples: [{ cacheHitRatio: 0.998, connections: [{ state: 'idle', count: 4 }], pool: { total: 2, idle: 2, waiting: 0, max: 10 }, slowestStatements: [{ query: 'select ...', calls: 12, meanMs: 3.2, totalMs: 38.4 }] }] })

async function slowestStatements (db: import('./db.ts').Db): Promise<{ rows: Array<{ query: string, calls: number, meanMs: number, totalMs: number }> | null, note?: string }> {
  try {
    const { rows } = await sql<{ query: string, calls: number, meanMs: number, totalMs: number }>`
      select query, calls::int as calls, round(mean_exec_time::numeric, 3)::float8 as mean_ms, round(total_exec_time::numeric, 3)::float8 as total_ms
      from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
      order by mean_exec_time desc limit 10`.execute(db)
    return { rows }
  } catch (err) {
    return { rows: null, note: `pg_stat_statements unavailable: ${(err as Error).message}` }
  }
}

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health/live', {
    config: liveProbe,
    schema: {
      operationId: 'checkLiveness',
      tags: ['health'],
      summary: 'Liveness: 200 while the process runs',
      description: 'Checks nothing but the process itself, so a restart is never triggered by a dependency\'s outage. Not rate limited.',
      response: { 200: Type.Object({ status: Type.Literal('ok') }, { examples: [{ status: 'ok' }] }) }
    }
  }, async () => ({ status: 'ok' as const }))

  const readiness = async (request: FastifyRequest, reply: FastifyReply) => {
    if (app.lifecycle.shuttingDown) {
      return sendProblem(reply, ServiceUnavailable('SHUTTING_DOWN', 'The server is shutting down.', {
        extra: { checks: { postgres: { status: 'down' }, redis: { status: 'down' } } }
      }))
    }
    const admin = isAdmin(request)
    const [postgres, redis] = await Promise.all([
      timed(() => pingDatabase(app.db)),
      timed(() => app.redis.ping())
    ])
    const checks = { postgres: visible(postgres, admin), redis: visible(redis, admin) }
    const failed = Object.entries(checks).filter(([, c]) => c.status === 'down').map(([name]) => name)
    if (failed.length > 0) {
      return sendProblem(reply, ServiceUnavailable('NOT_READY', `Unavailable: ${failed.join(', ')}`, { extra: { checks } }))
    }
    return { status: 'ok' as const, checks }
  }

  const readySchema = {
    tags: ['health'],
    response: { 200: Ready, 503: Problem }
  }
  app.get('/health/ready', {
    config: probe,
    schema: {
      ...readySchema,
      operationId: 'checkReadiness',
      summary: 'Readiness: Postgres and Redis answer and the server is not shutting down (error text: platform admins only)',
      description: 'Take the instance out of the load balancer while this is 503 (NOT_READY, or SHUTTING_DOWN during a graceful stop). Each check has a time limit; a platform admin\'s token also shows why a check failed. Not rate limited.'
    }
  }, readiness)
  app.get('/health', {
    config: probe,
    schema: { ...readySchema, operationId: 'checkHealth', summary: 'Alias of /health/ready for load balancers', description: 'The same answer as GET /health/ready, for load balancers that probe /health.' }
  }, readiness)

  app.get('/health/database', {
    config: probe,
    schema: {
      operationId: 'checkDatabase',
      tags: ['health'],
      summary: 'Database latency and connection pool figures (why it is down: platform admins only)',
      description: 'One round trip to Postgres, timed, and the API\'s connection pool (total, idle, waiting, max); 503 with the same shape when Postgres does not answer. With a read replica configured, also its state and lag (it never makes this 503).',
      response: { 200: DatabaseHealth, 503: DatabaseHealth }
    }
  }, async (request, reply) => {
    const check = visible(await timed(() => pingDatabase(app.db)), isAdmin(request))
    const pool = { total: app.pgPool.totalCount, idle: app.pgPool.idleCount, waiting: app.pgPool.waitingCount, max: app.config.databasePoolMax }
    return reply.code(check.status === 'up' ? 200 : 503).send({
      status: check.status,
      latencyMs: check.latencyMs ?? null,
      pool,
      ...(check.error !== undefined ? { error: check.error } : {}),
      ...(app.readReplica !== null ? { replica: app.readReplica.status() } : {})
    })
  })

  app.get('/health/database/performance', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'getDatabasePerformance',
      tags: ['health'],
      summary: 'Slowest statements, cache hit ratio and connections (platform admins)',
      description: 'The ten statements with the highest mean time (from pg_stat_statements, when installed), the buffer cache hit ratio and the connections by state.',
      response: { 200: DatabasePerformance }
    }
  }, async () => {
    const [ratio, connections, statements] = await Promise.all([
      sql<{ ratio: number | null }>`select sum(blks_hit)::float8 / nullif(sum(blks_hit + blks_read), 0) as ratio from pg_stat_database where datname = current_database()`.execute(app.db),
      sql<{ state: string, count: number }>`select coalesce(state, 'unknown') as state, count(*)::int as count from pg_stat_activity where datname = current_database() group by 1 order by 2 desc`.execute(app.db),
      slowestStatements(app.db)
    ])
    return {
      cacheHitRatio: ratio.rows[0]?.ratio ?? null,
      connections: connections.rows,
      pool: { total: app.pgPool.totalCount, idle: app.pgPool.idleCount, waiting: app.pgPool.waitingCount, max: app.config.databasePoolMax },
      slowestStatements: statements.rows,
      ...(statements.note ? { note: statements.note } : {})
    }
  })
}

export default health
