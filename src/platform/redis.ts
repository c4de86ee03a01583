import fp from 'fastify-plugin'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { Config } from '../config.ts'
import { activeTracing } from './tracing.ts'

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

/** A single Redis or a Redis Cluster (REDIS_CLUSTER_NODES): the code runs the same on both. */
export type RedisClient = Redis | Cluster

/**
 * A Lua script run as a custom command (`redis[name](...keys, ...args)`). Each module owns its
 * scripts' text; the process entry passes them all to createRedis, which defines them on the
 * client before it serves anything. Defining one lazily, on first use, is a crash: with
 * auto-pipelining, a pipeline opened earlier in the same tick lacks the new command, its
 * callbacks no longer line up with its replies, and ioredis throws outside any request.
 */
export interface RedisScript {
  name: string
  numberOfKeys: number
  lua: string
}

/**
 * The client typed with a module's scripts. They must have been defined at creation; a client
 * created without them is a wiring mistake, reported here rather than patched up lazily.
 */
export function withScripts<T extends RedisClient> (redis: RedisClient, scripts: readonly RedisScript[]): T {
  for (const script of scripts) {
    if (typeof (redis as unknown as Record<string, unknown>)[script.name] !== 'function') {
      throw new Error(`the Redis command ${script.name} was not defined when the client was created (pass its scripts to createRedis)`)
    }
  }
  return redis as T
}

// Keys one owner holds (a job's run lock, an idempotency claim), changed only with the owner's
// token, so a late release or renewal cannot touch a newer owner's key.
const IF_OWNER = "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end "
export const ownedKeyScripts: readonly RedisScript[] = [
  { name: 'deleteIfOwner', numberOfKeys: 1, lua: IF_OWNER + "return redis.call('DEL', KEYS[1])" },
  { name: 'expireIfOwner', numberOfKeys: 1, lua: IF_OWNER + "return redis.call('PEXPIRE', KEYS[1], ARGV[2])" }
]

interface OwnedKeyCommands {
  deleteIfOwner: (key: string, owner: string) => Promise<number>
  expireIfOwner: (key: string, owner: string, ttlMs: number) => Promise<number>
}

export const ownedKeys = (redis: RedisClient): RedisClient & OwnedKeyCommands => withScripts(redis, ownedKeyScripts)

/**
 * A Redis Cluster client with a role's options. REDIS_URL's host is not used; its username,
 * password and rediss:// (TLS) apply to every node, as they would to the one server.
 */
function createCluster (config: Pick<Config, 'redisUrl' | 'redisPrefix'>, nodes: Array<{ host: string, port: number }>, role: RedisRole, options: RedisOptions): Cluster {
  const { retryStrategy, enableOfflineQueue, lazyConnect, ...perNode } = options
  return new Cluster(nodes, {
    lazyConnect,
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableReadyCheck: true,
    clusterRetryStrategy: retryStrategy,
    ...(role === 'api' ? { keyPrefix: config.redisPrefix, enableAutoPipelining: true } : {}),
    redisOptions: {
      ...perNode,
      connectionName: `bazaar-${role}`,
      ...clusterNodeCredentials(config.redisUrl)
    }
  })
}

/** REDIS_URL's username, password and TLS (rediss://), for each node of a cluster. */
export function clusterNodeCredentials (redisUrl: string): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  const url = new URL(redisUrl)
  return {
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {})
  }
}

/**
 * `api`: our own keys, under REDIS_PREFIX. `queue-producer`: BullMQ queues in the API (fail
 * fast, no key prefix: BullMQ prefixes its own keys). `worker`: BullMQ workers and the relay.
 * With REDIS_CLUSTER_NODES, a Cluster client with the same options.
 */
export function createRedis (config: Pick<Config, 'redisUrl' | 'redisPrefix' | 'redisClusterNodes'>, role: RedisRole, scripts: readonly RedisScript[] = []): RedisClient {
  const options = role === 'worker' ? patient : failFast
  const client: RedisClient = config.redisClusterNodes
    ? createCluster(config, config.redisClusterNodes, role, options)
    : new Redis(config.redisUrl, {
      ...options,
      // Our keys; and commands issued in the same tick (concurrent requests) share one socket
      // write: a write syscall per command was a fifth of a signed-in request's CPU.
      ...(role === 'api' ? { keyPrefix: config.redisPrefix, enableAutoPipelining: true } : {}),
      connectionName: `bazaar-${role}`
    })
  // Connection errors are reported through health checks and failing commands; an unhandled
  // 'error' event would crash the process.
  client.on('error', () => {})
  for (const script of scripts) client.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua })
  activeTracing()?.instrumentRedis(client)
  return client
}

/** The servers holding keys: the one Redis, or each master of a cluster (SCAN goes node by node). */
export function masterNodes (client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client]
}

/** Connects a lazy client, waiting at most `timeoutMs`; returns whether it is ready. */
export async function connectRedis (client: RedisClient, timeoutMs = 5000): Promise<boolean> {
  if (client.status === 'ready') return true
  const ready = new Promise<boolean>((resolve) => {
    client.once('ready', () => resolve(true))
  })
  if (client.status === 'wait') client.connect().catch(() => {})
  const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref())
  return Promise.race([ready.then((ok) => ok && connectMasters(client)), timeout])
}

/**
 * A cluster client opens each node's connection on its first command, and without an offline
 * queue refuses the commands that reach the node while it connects: connected up front, the
 * first requests do not fail.
 */
async function connectMasters (client: RedisClient): Promise<boolean> {
  if (!(client instanceof Cluster)) return true
  await Promise.all(client.nodes('master').map((node) => node.status === 'wait' ? node.connect().catch(() => {}) : undefined))
  return true
}

export async function closeRedis (client: RedisClient): Promise<void> {
  if (client.status === 'end') return
  // Not connected: nothing to flush, and QUIT would wait for a reconnection that may never come.
  if (client.status !== 'ready') {
    client.disconnect()
    return
  }
  try {
    await client.quit()
  } catch {
    client.disconnect()
  }
}

export default fp(async (app, options: { scripts?: readonly RedisScript[] }) => {
  const redis = createRedis(app.config, 'api', options.scripts)
  if (!await connectRedis(redis)) app.log.warn('redis is not reachable yet; continuing and retrying in the background')
  app.decorate<RedisClient, 'redis'>('redis', redis)
  app.addHook('onClose', () => closeRedis(redis))
}, { name: 'redis', dependencies: ['config'] })

declare module 'fastify' {
  interface FastifyInstance {
    redis: RedisClient
  }
}
