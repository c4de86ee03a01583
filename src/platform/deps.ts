import type { Logger } from 'pino'
import type { RedisClient } from './redis.ts'
import type { Config } from '../config.ts'
import { systemClock, systemRandom, type Clock, type Random } from './clock.ts'
import { createSealer, type Sealer } from './crypto.ts'
import { createDatabase, type Database, type Db } from './db.ts'
import { Metrics } from './metrics.ts'
import type { Principal } from './principal.ts'
import { closeQueues, createQueues, type Queues } from './queues.ts'
import { closeRedis, connectRedis, createRedis, type RedisScript } from './redis.ts'
import { createFileStorage, type FileStorage } from './storage.ts'

/**
 * What domain services work with, passed explicitly: the API builds it from its decorations,
 * the worker and scripts with connectDeps. No Fastify types beyond the logger.
 */
export interface Deps {
  config: Config
  /** The primary: transactions, writes, and reads that must see recent writes (the default). */
  db: Db
  /** The read replica (DATABASE_READ_URL) or the primary: lag-tolerant reads only (platform/db.ts). */
  readDb: Db
  /** Our keys (REDIS_PREFIX applied by the client). */
  redis: RedisClient
  queues: Queues
  sealer: Sealer
  clock: Clock
  random: Random
  storage: FileStorage
  log: Logger
  /** Where business counters go (served at /metrics when METRICS_TOKEN is set). */
  metrics: Metrics
}

/**
 * Where a public view (one anyone may read) is read from: the replica for an anonymous caller,
 * who cannot have changed it; the primary for a signed-in one, who may be reading their own
 * write back (a vendor their profile, an admin the review they just made).
 */
export function readerFor (deps: Pick<Deps, 'db' | 'readDb'>, caller: Principal | null): Db {
  return caller === null ? deps.readDb : deps.db
}

/**
 * Opens the connections a process outside the API needs (worker, scripts): Postgres, Redis for
 * our keys, and a patient Redis connection for queues. `close` closes what it opened.
 * `scripts` (every module's, from src/redis-scripts.ts) are defined before the client is used.
 * `metrics`: the registry the worker serves; scripts leave it out (what they count goes nowhere).
 */
export async function connectDeps (config: Config, options: { log: Logger, scripts: readonly RedisScript[], clock?: Clock, random?: Random, metrics?: Metrics }): Promise<{ deps: Deps, producer: RedisClient, pool: Database['pool'], close: () => Promise<void> }> {
  const database = createDatabase(config, undefined, (err) => options.log.warn({ err: err.message }, 'a postgres connection was lost'))
  const redis = createRedis(config, 'api', options.scripts)
  const producer = createRedis(config, 'worker')
  await Promise.all([connectRedis(redis, 30000), connectRedis(producer, 30000)])
  const queues = createQueues(producer, config.queuePrefix, (err) => options.log.debug({ err: err.message }, 'queue connection error'))
  const storage = await createFileStorage(config)
  const deps: Deps = {
    config,
    db: database.db,
    // Jobs and scripts act on what they read: the primary.
    readDb: database.db,
    redis,
    queues,
    sealer: createSealer(config.encryptionKey),
    clock: options.clock ?? systemClock,
    random: options.random ?? systemRandom,
    storage,
    log: options.log,
    metrics: options.metrics ?? new Metrics()
  }
  return {
    deps,
    producer,
    pool: database.pool,
    close: async () => {
      await closeQueues(queues)
      storage.close?.()
      await database.destroy()
      await Promise.all([closeRedis(redis), closeRedis(producer)])
    }
  }
}
