import { randomUUID } from 'node:crypto'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Job, Worker } from 'bullmq'
import type { RedisClient } from './redis.ts'
import type pg from 'pg'
import type { Config } from '../config.ts'
import { NotFound, toProblem, Unauthorized } from './errors.ts'
import { collectPool, collectQueueDepths, collectRedis } from './metrics-collectors.ts'
import type { Queues } from './queues.ts'
import { collectProcessMetrics, defineCounter, defineHistogram, METRICS_CHALLENGE, metricsTokenCheck, type Metrics } from './metrics.ts'

// The worker's metrics: jobs finished per queue and outcome, and how long they ran, counted from
// BullMQ's worker events; served (with the queues' depths, the pool, Redis and the process's
// figures) on a port of its own, WORKER_METRICS_PORT, behind the same token as the API's.

export const JOBS = defineCounter({
  name: 'bazaar_jobs_total',
  help: 'Jobs run by this worker, by queue and outcome (failed: every failed attempt, retried or not)',
  labelNames: ['queue', 'outcome']
})

export const JOB_DURATION = defineHistogram({
  name: 'bazaar_job_duration_seconds',
  help: 'How long jobs ran (from start to finish of the attempt), by queue and outcome',
  labelNames: ['queue', 'outcome'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
})

/** Counts and times the jobs one BullMQ Worker finishes. */
export function observeJobs (metrics: Metrics, worker: Worker, queue: string): void {
  const durations = metrics.histogram(JOB_DURATION)
  const finished = (outcome: 'completed' | 'failed') => (job: Job | undefined) => {
    metrics.count(JOBS, { queue, outcome })
    if (job?.processedOn !== undefined && job.finishedOn !== undefined) {
      durations.observe({ queue, outcome }, Math.max(0, job.finishedOn - job.processedOn) / 1000)
    }
  }
  for (const outcome of ['completed', 'failed'] as const) metrics.count(JOBS, { queue, outcome }, 0)
  worker.on('completed', finished('completed'))
  worker.on('failed', finished('failed'))
}

export interface MetricsServer {
  port: number
  close: () => Promise<void>
}

function problem (res: ServerResponse, error: unknown, headers: Record<string, string> = {}): void {
  const body = toProblem(error, randomUUID())
  res.writeHead(body.status, { 'content-type': 'application/problem+json', ...headers }).end(JSON.stringify(body))
}

/** What the worker's metrics read: its BullMQ workers, its pool, its queues and Redis connections. */
export interface WorkerSources {
  workers: ReadonlyArray<{ queue: string, worker: Worker }>
  pool: pg.Pool
  queues: Queues
  /** By connection role; the first is the one whose PING is timed. */
  redis: Record<string, RedisClient>
}

/** GET /metrics on HOST:port, for the bearer of METRICS_TOKEN; nothing else. */
export async function serveWorkerMetrics (metrics: Metrics, config: Pick<Config, 'host' | 'metricsToken' | 'databasePoolMax'>, port: number, sources: WorkerSources): Promise<MetricsServer> {
  if (config.metricsToken === undefined) throw new Error('the worker serves metrics only with METRICS_TOKEN set')
  collectProcessMetrics()
  for (const { queue, worker } of sources.workers) observeJobs(metrics, worker, queue)
  collectPool(metrics, sources.pool, config.databasePoolMax)
  collectRedis(metrics, sources.redis, Object.values(sources.redis)[0]!)
  collectQueueDepths(metrics, sources.queues)
  const authorized = metricsTokenCheck(config.metricsToken)
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') return problem(res, NotFound('NOT_FOUND', 'Only GET /metrics is served here.'))
    if (!authorized(req.headers.authorization)) {
      return problem(res, Unauthorized('UNAUTHORIZED', 'The metrics token is missing or wrong.'), { 'www-authenticate': METRICS_CHALLENGE })
    }
    metrics.exposition().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (err: unknown) => problem(res, err)
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, config.host, () => resolve())
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}
