import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { Cluster, Redis } from 'ioredis'
import { loadConfig, type Config } from '../../src/config.ts'
import { buildApp } from '../../src/app.ts'
import { startWorker, type RunningWorker, type WorkerOptions } from '../../src/worker.ts'
import type { Clock } from '../../src/platform/clock.ts'
import type { QueryListener } from '../../src/platform/db.ts'
import { clusterNodeCredentials, masterNodes, type RedisClient } from '../../src/platform/redis.ts'
import { withDatabase } from '../../scripts/lib/local-services.ts'
import { createTestDatabase } from './database.ts'
import { startSmtpServer, type TestSmtp } from './smtp.ts'

export { eventually } from './eventually.ts'

// One call gives a test file an app on its own database (cloned from the migrated template),
// its own Redis key and queue prefixes, temporary upload and mail folders, and optionally a
// real SMTP server and the real worker code; t.teardown closes all of it.

export interface Tap { teardown: (fn: () => unknown) => void }

export interface TestEnv {
  config: Config
  app: FastifyInstance
  smtp: TestSmtp | null
  worker: RunningWorker | null
  /** A raw Redis client (no prefix) on the test's Redis: a Cluster client on a cluster run. */
  redis: RedisClient
  startWorker: (options?: WorkerOptions) => Promise<RunningWorker>
}

export interface TestEnvOptions {
  config?: Partial<Config>
  clock?: Clock
  plugins?: FastifyPluginAsync[]
  /** Sees the SQL of every statement the app runs. */
  onQuery?: QueryListener
  smtp?: boolean
  worker?: boolean | WorkerOptions
  /** Skip building the API (worker-only tests). */
  api?: boolean
}

export function testConfig (overrides: Partial<Config> = {}): Config {
  const id = randomBytes(4).toString('hex')
  const scratch = mkdtempSync(join(tmpdir(), 'bazaar-test-'))
  const base = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JWT_SECRET: randomBytes(32).toString('base64url'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
    DATA_DIR: scratch,
    SMTP_URL: undefined
  })
  const config: Config = {
    ...base,
    redisPrefix: `t${id}:`,
    queuePrefix: `{t${id}-bull}`,
    outboxIntervalMs: 200,
    rateLimitMax: 10_000,
    ...overrides
  }
  // A test that names its own Redis (a private server it stops and starts) means that one, on a
  // cluster run of the suite too.
  if ('redisUrl' in overrides && !('redisClusterNodes' in overrides)) config.redisClusterNodes = undefined
  // Run against a replica (DATABASE_READ_URL of the runner's server), a test reads its own
  // database there, by the same name.
  if (base.databaseReadUrl !== undefined && !('databaseReadUrl' in overrides)) {
    config.databaseReadUrl = withDatabase(base.databaseReadUrl, new URL(config.databaseUrl).pathname.slice(1))
  }
  return config
}

// Issue 9: nothing personal in plaintext in Redis. Every test file, before its keys are
// deleted, has everything it left under its prefixes (our keys and BullMQ's, every type) read
// and searched for an email address, so the whole suite's Redis traffic is checked, failure
// paths included. (Names and codes cannot be recognised generically; test/platform/
// redis-privacy.test.ts looks for the exact ones its flows used.)
const EMAIL_ADDRESS = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/

/**
 * A client without key prefix on the Redis `config` names: with REDIS_CLUSTER_NODES in the
 * environment (a cluster run of the suite), a Cluster client.
 */
export function rawRedis (config: Pick<Config, 'redisUrl' | 'redisClusterNodes'>): RedisClient {
  const client: RedisClient = config.redisClusterNodes
    ? new Cluster(config.redisClusterNodes, { redisOptions: clusterNodeCredentials(config.redisUrl) })
    : new Redis(config.redisUrl)
  client.on('error', () => {})
  return client
}

export async function valuesOf (redis: RedisClient, key: string): Promise<string[]> {
  const type = await redis.type(key)
  switch (type) {
    case 'string': return [await redis.get(key) ?? '']
    case 'hash': return Object.entries(await redis.hgetall(key)).flat()
    case 'list': return redis.lrange(key, '0', '-1')
    case 'set': return redis.smembers(key)
    case 'zset': return redis.zrange(key, '0', '-1')
    case 'stream': return (await redis.xrange(key, '-', '+')).flatMap(([id, fields]) => [id, ...fields])
    default: return []
  }
}

export async function plaintextEmailsIn (redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = []
  for (const key of await keysMatching(redis, pattern)) {
    for (const text of [key, ...await valuesOf(redis, key)]) {
      const match = EMAIL_ADDRESS.exec(text)
      if (match) found.push(`${key}: ${match[0]}`)
    }
  }
  return found
}

/**
 * Every key matching `pattern`. One SCAN call covers only part of the keyspace (COUNT is a hint
 * of how much to look at, not how many to return): on a shared Redis the cursor must run to 0.
 * A cluster's keys are spread over its masters: each is scanned in turn.
 */
export async function keysMatching (redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = []
  await ready(redis)
  for (const node of masterNodes(redis)) {
    let cursor = '0'
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      found.push(...keys)
    } while (cursor !== '0')
  }
  return found
}

/** A cluster client knows its masters once connected (a single client connects on first use). */
async function ready (redis: RedisClient): Promise<void> {
  if (redis instanceof Cluster && redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve))
}

export async function deleteKeys (redis: RedisClient, pattern: string): Promise<void> {
  const keys = await keysMatching(redis, pattern)
  // One key per UNLINK: a cluster refuses a multi-key command over keys of different slots.
  if (keys.length) await Promise.all(keys.map((key) => redis.unlink(key)))
}

export async function createTestEnv (t: Tap, options: TestEnvOptions = {}): Promise<TestEnv> {
  const database = await createTestDatabase()
  const smtp = options.smtp ? await startSmtpServer() : null
  const config = testConfig({ databaseUrl: database.url, ...(smtp ? { smtpUrl: smtp.url } : {}), ...options.config })
  const redis = rawRedis(config)
  const workers: RunningWorker[] = []

  const env: TestEnv = {
    config,
    app: null as unknown as FastifyInstance,
    smtp,
    worker: null,
    redis,
    startWorker: async (workerOptions = {}) => {
      const worker = await startWorker(config, { clock: options.clock, ...workerOptions })
      workers.push(worker)
      return worker
    }
  }

  t.teardown(async () => {
    if (env.app) await env.app.close()
    for (const worker of workers) await worker.close()
    await smtp?.close()
    const leaked = [
      ...await plaintextEmailsIn(redis, `${config.redisPrefix}*`),
      ...await plaintextEmailsIn(redis, `${config.queuePrefix}:*`)
    ]
    await deleteKeys(redis, `${config.redisPrefix}*`)
    await deleteKeys(redis, `${config.queuePrefix}:*`)
    redis.disconnect()
    await database.drop()
    rmSync(config.dataDir, { recursive: true, force: true })
    if (leaked.length) throw new Error(`email addresses in plaintext in Redis: ${leaked.slice(0, 5).join('; ')}`)
  })

  if (options.api !== false) {
    env.app = await buildApp(config, { clock: options.clock, plugins: options.plugins, onQuery: options.onQuery })
    await env.app.ready()
  }
  if (options.worker) env.worker = await env.startWorker(options.worker === true ? {} : options.worker)
  return env
}
