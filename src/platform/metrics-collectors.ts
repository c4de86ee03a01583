import type pg from 'pg'
import type { RedisClient } from './redis.ts'
import { within, type Metrics } from './metrics.ts'
import type { Queues } from './queues.ts'

// Figures read when Prometheus scrapes, not kept up on the way: the Postgres pool's counts,
// the Redis connections, and the queues' depths (a few Redis commands per scrape, bounded in
// time). Shared by the API and the worker.

const SCRAPE_TIMEOUT_MS = 1000
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const

export function collectPool (metrics: Metrics, pool: pg.Pool, max: number): void {
  metrics.gauge({
    name: 'bazaar_pg_pool_connections',
    help: 'Postgres connections of this process\'s pool: total (open), idle (open, unused)',
    labelNames: ['state'],
    collect () {
      this.set({ state: 'total' }, pool.totalCount)
      this.set({ state: 'idle' }, pool.idleCount)
    }
  })
  metrics.gauge({ name: 'bazaar_pg_pool_waiting_clients', help: 'Queries waiting for a free pool connection', collect () { this.set(pool.waitingCount) } })
  metrics.gauge({ name: 'bazaar_pg_pool_max_connections', help: 'The pool\'s size limit (DATABASE_POOL_MAX)', collect () { this.set(max) } })
}

/** `connections`: this process's Redis clients by role; `pinged`: the one whose PING is timed. */
export function collectRedis (metrics: Metrics, connections: Record<string, RedisClient>, pinged: RedisClient): void {
  metrics.gauge({
    name: 'bazaar_redis_up',
    help: '1 while the Redis connection is ready, by connection role',
    labelNames: ['connection'],
    collect () {
      for (const [connection, client] of Object.entries(connections)) this.set({ connection }, client.status === 'ready' ? 1 : 0)
    }
  })
  metrics.gauge({
    name: 'bazaar_redis_ping_seconds',
    help: 'Round trip of a PING at scrape time (absent when it failed or took over a second)',
    async collect () {
      this.reset()
      const started = performance.now()
      if (await within(SCRAPE_TIMEOUT_MS, () => pinged.ping()) !== undefined) this.set((performance.now() - started) / 1000)
    }
  })
}

export function collectQueueDepths (metrics: Metrics, queues: Queues): void {
  metrics.gauge({
    name: 'bazaar_queue_jobs',
    help: 'Jobs per queue and state (waiting, active, delayed, failed), read from Redis at scrape time; absent when Redis did not answer within a second',
    labelNames: ['queue', 'state'],
    async collect () {
      this.reset()
      const counts = await within(SCRAPE_TIMEOUT_MS, () => Promise.all(Object.values(queues).map(async (queue) => ({ queue: queue.name, counts: await queue.getJobCounts(...QUEUE_STATES) }))))
      for (const { queue, counts: byState } of counts ?? []) {
        for (const state of QUEUE_STATES) this.set({ queue, state }, byState[state] ?? 0)
      }
    }
  })
}
