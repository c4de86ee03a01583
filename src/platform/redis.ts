import fp from 'fastify-plugin'
import { Redis, type RedisOptions } from 'ioredis'
import type { Config } from '../config.ts'

// The API's Redis clients fail fast: with no offline queue a command issued while Redis is
// down errors at once instead of piling up, so requests answer quickly and /health/ready
// reports it; the client keeps reconnecting in the background.
const failFast: RedisOptions = {
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  commandTimeout: 2000,
  retryStrategy: (attempt) => Math.min(attempt * 100, 2000)
}

/** Blocking consumers (BullMQ workers) wait for Redis instead of failing. */
const patient: RedisOptions = {
  lazyConnect: true,
  maxRetriesPerRequest: null,
  enableReadyCheck: true,
  retryStrategy: (attempt) => Math.min(attempt * 200, 5000)
}

export type RedisRole = 'api' | 'queue-producer' | 'worker'

/**
 * `api`: our own keys, under REDIS_PREFIX. `queue-producer`: BullMQ queues in the API (fail
 * fast, no key prefix: BullMQ prefixes its own keys). `worker`: BullMQ workers and the relay.
 */
export function createRedis (config: Pick<Config, 'redisUrl' | 'redisPrefix'>, role: RedisRole): Redis {
  const options = role === 'worker' ? patient : failFast
  const client = new Redis(config.redisUrl, {
    ...options,
    // Our keys; and commands issued in the same tick (concurrent requests) share one socket
    // write: a write syscall per command was a fifth of a signed-in request's CPU.
    ...(role === 'api' ? { keyPrefix: config.redisPrefix, enableAutoPipelining: true } : {}),
    connectionName: `bazaar-${role}`
  })
  // Connection errors are reported through health checks and failing commands; an unhandled
  // 'error' event would crash the process.
  client.on('error', () => {})
  return client
}

/** Connects a lazy client, waiting at most `timeoutMs`; returns whether it is ready. */
export async function connectRedis (client: Redis, timeoutMs = 5000): Promise<boolean> {
  if (client.status === 'ready') return true
  const ready = new Promise<boolean>((resolve) => {
    client.once('ready', () => resolve(true))
  })
  if (client.status === 'wait') client.connect().catch(() => {})
  const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref())
  return Promise.race([ready, timeout])
}

export async function closeRedis (client: Redis): Promise<void> {
  if (client.status === 'end') return
  try {
    await client.quit()
  } catch {
    client.disconnect()
  }
}

export default fp(async (app) => {
  const redis = createRedis(app.config, 'api')
  if (!await connectRedis(redis)) app.log.warn('redis is not reachable yet; continuing and retrying in the background')
  app.decorate('redis', redis)
  app.addHook('onClose', () => closeRedis(redis))
}, { name: 'redis', dependencies: ['config'] })

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis
  }
}
