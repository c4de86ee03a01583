import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { Config } from '../config.ts'
import type { Clock, Random } from './clock.ts'
import type { Sealer } from './crypto.ts'
import type { Db } from './db.ts'
import type { Queues } from './queues.ts'
import type { FileStorage } from './storage.ts'

/**
 * What domain services work with, passed explicitly: the API builds it from its decorations,
 * the worker and scripts from their own connections. No Fastify types beyond the logger.
 */
export interface Deps {
  config: Config
  db: Db
  /** Our keys (REDIS_PREFIX applied by the client). */
  redis: Redis
  queues: Queues
  sealer: Sealer
  clock: Clock
  random: Random
  storage: FileStorage
  log: FastifyBaseLogger
}
