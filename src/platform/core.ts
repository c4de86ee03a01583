import fp from 'fastify-plugin'
import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import type { Clock, Random } from './clock.ts'
import { createSealer, type Sealer } from './crypto.ts'
import type { Deps } from './deps.ts'

// The first and the last of the platform's decorations: what every plugin reads (config, clock,
// randomness, the sealer, the lifecycle flag), and the Deps object domain services take.

export interface Lifecycle { shuttingDown: boolean }

export const core = fp(async (app, options: { config: Config, clock: Clock, random: Random }) => {
  app.decorate('config', options.config)
  app.decorate('clock', options.clock)
  app.decorate('random', options.random)
  app.decorate('sealer', createSealer(options.config.encryptionKey))
  app.decorate('lifecycle', { shuttingDown: false })
}, { name: 'config' })

/** The explicit dependencies domain services take, built once from the platform decorations. */
export const deps = fp(async (app) => {
  const value: Deps = {
    config: app.config,
    db: app.db,
    // The replica's Kysely or the primary's, as the replica's watch says at each use.
    get readDb () { return app.dbRead },
    redis: app.redis,
    queues: app.queues,
    sealer: app.sealer,
    clock: app.clock,
    random: app.random,
    storage: app.storage,
    // The instance's logger is the pino Logger it was given (loggerInstance); Fastify types it narrower.
    log: app.log as unknown as Logger,
    metrics: app.metrics
  }
  app.decorate('deps', value)
}, { name: 'deps', dependencies: ['config', 'db', 'redis', 'queues', 'storage', 'metrics'] })

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    clock: Clock
    random: Random
    sealer: Sealer
    lifecycle: Lifecycle
    deps: Deps
  }
}
