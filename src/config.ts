import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse as parseDotenv } from 'dotenv'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { checkUrl, ConfigError, fail, listenerUrl, parseRedisClusterNodes, parseTrustProxy, type RedisNode } from './config-checks.ts'
import { StorageEnv, storageConfig, type StorageConfig } from './config-storage.ts'
import { GeoipEnv, geoipDatabases } from './config-geoip.ts'
import { SmsEnv, smsConfig, type SmsConfig } from './config-sms.ts'
import { PaymentsEnv, paymentsConfig, type PaymentsConfig, type StripeConfig } from './config-payments.ts'

export { ConfigError }

// The one place that reads process.env: every process calls loadConfig() and passes the
// result down explicitly.

export const DEFAULT_DATA_DIR = './data'

const Env = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('test'), Type.Literal('production')], { default: 'development', description: 'one of development, test, production' }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'a listen address' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000, description: 'a port number 0-65535' }),
  PUBLIC_URL: Type.Optional(Type.String({ description: 'an http(s) URL (default: the HOST/PORT address, http://localhost:PORT for a loopback one)' })),
  APP_URL: Type.Optional(Type.String({ description: 'an http(s) URL: the front end that email links open (default PUBLIC_URL)' })),
  DATABASE_URL: Type.Optional(Type.String({ description: 'a postgres:// connection string' })),
  DATABASE_READ_URL: Type.Optional(Type.String({ description: 'a postgres:// connection string of a read replica (unset: every read goes to DATABASE_URL)' })),
  DATABASE_POOL_MAX: Type.Integer({ minimum: 1, maximum: 500, default: 10, description: 'an integer 1-500' }),
  DATABASE_PREPARED_STATEMENTS: Type.Boolean({ default: true, description: 'true or false (false behind a pooler that cannot carry prepared statements)' }),
  REDIS_URL: Type.Optional(Type.String({ description: 'a redis:// or rediss:// URL' })),
  REDIS_CLUSTER_NODES: Type.Optional(Type.String({ description: 'comma-separated host:port seed nodes of a Redis Cluster' })),
  REDIS_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,32}$', default: 'bz:', description: 'a key prefix of 1-32 safe characters' }),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'a secret of at least 32 bytes' })),
  ENCRYPTION_KEY: Type.Optional(Type.String({ minLength: 32, description: 'a key of at least 32 bytes' })),
  ACCESS_TOKEN_TTL: Type.Integer({ minimum: 30, maximum: 86400, default: 900, description: 'seconds, 30-86400' }),
  REFRESH_TOKEN_TTL: Type.Integer({ minimum: 60, default: 2592000, description: 'seconds, at least 60' }),
  SESSION_IDLE_TTL: Type.Integer({ minimum: 60, default: 604800, description: 'seconds, at least 60' }),
  SMTP_URL: Type.Optional(Type.String({ description: 'an smtp:// or smtps:// URL' })),
  MAIL_FROM: Type.String({ minLength: 3, default: 'Bazaar <no-reply@localhost>', description: 'a sender address' }),
  DATA_DIR: Type.String({ minLength: 1, default: DEFAULT_DATA_DIR, description: 'a folder path' }),
  UPLOAD_DIR: Type.Optional(Type.String({ minLength: 1, description: 'a folder path' })),
  UPLOAD_MAX_BYTES: Type.Integer({ minimum: 1024, default: 5 * 1024 * 1024, description: 'an integer of bytes, at least 1024' }),
  ...StorageEnv.properties,
  ...GeoipEnv.properties,
  ...SmsEnv.properties,
  ...PaymentsEnv.properties,
  CORS_ORIGINS: Type.Optional(Type.String({ description: 'comma-separated http(s) origins (default: PUBLIC_URL\'s)' })),
  TRUST_PROXY: Type.String({ default: 'false', description: 'false, a hop count or a comma-separated list of addresses/CIDRs (or true outside production)' }),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 600, description: 'requests per minute per client IP' }),
  AUTH_RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 20, description: 'sign-in, sign-up and code requests per minute per client IP' }),
  SHUTDOWN_DRAIN_MS: Type.Integer({ minimum: 0, maximum: 120000, default: 3000, description: 'milliseconds, 0-120000' }),
  CATALOG_CACHE_TTL_MS: Type.Integer({ minimum: 0, maximum: 60000, default: 1000, description: 'milliseconds, 0-60000 (0 turns the catalog cache off)' }),
  METRICS_TOKEN: Type.Optional(Type.String({ pattern: '^[\\x21-\\x7e]{16,}$', description: 'a bearer token of at least 16 characters, no spaces (unset: no /metrics)' })),
  WORKER_METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'a port number 0-65535 (unset: the worker serves no metrics)' })),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ description: 'an http(s) URL: the OTLP/HTTP collector traces are sent to (unset: no tracing)' })),
  OTEL_EXPORTER_OTLP_HEADERS: Type.Optional(Type.String({ pattern: '^[^=,]+=[^,]*(,[^=,]+=[^,]*)*$', description: 'comma-separated key=value headers for the collector' })),
  OTEL_SERVICE_NAME: Type.Optional(Type.String({ minLength: 1, description: 'a service name (default bazaar-api, bazaar-worker)' })),
  OTEL_TRACES_SAMPLER_ARG: Type.Number({ minimum: 0, maximum: 1, default: 1, description: 'the share of new traces recorded, 0-1' }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info', description: 'a pino level' })
})
type Env = Static<typeof Env>

export type NodeEnv = Env['NODE_ENV']
export type LogLevel = Env['LOG_LEVEL']

export interface Config {
  env: NodeEnv
  host: string
  port: number
  publicUrl: string
  /** The storefront or admin front end: every link in an email opens a page of it. */
  appUrl: string
  databaseUrl: string
  /** False when DATABASE_URL was not given and a local default stands in. */
  databaseUrlSet: boolean
  /** A streaming replica for lag-tolerant public reads (platform/db.ts says which); unset, the primary. */
  databaseReadUrl: string | undefined
  databasePoolMax: number
  /** Prepare repeated statements once per connection (off for PgBouncer < 1.21, transaction mode). */
  databasePreparedStatements: boolean
  redisUrl: string
  redisUrlSet: boolean
  /** Seed nodes of a Redis Cluster, used instead of redisUrl's host (its credentials and TLS still apply). */
  redisClusterNodes: RedisNode[] | undefined
  redisPrefix: string
  queuePrefix: string
  jwtSecret: string
  encryptionKey: string
  accessTokenTtl: number
  refreshTokenTtl: number
  sessionIdleTtl: number
  smtpUrl: string | undefined
  mailFrom: string
  mailDir: string
  /** The development mail page (/dev/mail) reads mailDir: development without SMTP only. */
  mailPreview: boolean
  stripe: StripeConfig
  /** The platform's commission and Connect settings (config-payments.ts). */
  payments: PaymentsConfig
  dataDir: string
  uploadDir: string
  uploadMaxBytes: number
  /** S3-compatible object storage when S3_BUCKET is set (config-storage.ts); else files live in uploadDir. */
  storage: StorageConfig
  /** The .mmdb files sessions are placed with (config-geoip.ts, platform/geoip.ts); empty: off. */
  geoipDatabases: string[]
  /** Text messages: Twilio, or the log driver (config-sms.ts; platform/sms.ts). */
  sms: SmsConfig
  corsOrigins: string[]
  /** Whose X-Forwarded-For to believe: nobody (false), the nearest n hops, the listed proxy addresses/CIDRs (or
   * proxy-addr's names loopback, linklocal, uniquelocal), or anyone (true: development only: any client could choose its address). */
  trustProxy: boolean | number | string[]
  rateLimitMax: number
  authRateLimitMax: number
  logLevel: LogLevel
  /** How often the worker moves outbox rows to their queues. */
  outboxIntervalMs: number
  /** On SIGTERM, how long readiness answers 503 before the listener closes (load balancers see it leave). */
  shutdownDrainMs: number
  /** Public catalog answers kept in memory: for ttlMs at most (0: off), bounded (platform/http-cache.ts). */
  catalogCache: { ttlMs: number, maxEntries: number, maxBytes: number }
  /** OpenTelemetry: traces go to endpoint (unset: tracing off, nothing loaded; platform/tracing.ts). */
  tracing: { endpoint: string | undefined, headers: string | undefined, serviceName: string | undefined, sampleRatio: number }
  /** Bearer token of GET /metrics (API and worker); unset, no metrics are served or measured per request. */
  metricsToken: string | undefined
  /** The worker's own metrics port (platform/worker-metrics.ts); unset, none. */
  workerMetricsPort: number | undefined
}

export const DEFAULT_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:5432/bazaar'
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

// Where the development commands (scripts/lib/dev-env.ts) keep the secrets they generate for a
// data folder. Read here, never written: development uses them, production refuses them.
export function devSecretsFile (dataDir: string): string {
  return join(dataDir, 'secrets.json')
}

function readDevSecrets (dataDir: string): { jwtSecret?: string, encryptionKey?: string } | undefined {
  const file = devSecretsFile(dataDir)
  if (!existsSync(file)) return undefined
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { jwtSecret?: string, encryptionKey?: string }
  } catch {
    return undefined
  }
}

const readDotenv = (file = resolve('.env')): Record<string, string> => existsSync(file) ? parseDotenv(readFileSync(file)) : {}

/**
 * The variables as given, before validation: `.env`, overridden by the environment's non-empty
 * values. What loadConfig() validates.
 */
export function givenEnv (source: Record<string, string | undefined> = process.env): Record<string, string> {
  const given: Record<string, string> = { ...readDotenv() }
  for (const [key, value] of Object.entries(source)) {
    if (value !== undefined && value !== '') given[key] = value
  }
  return given
}

// Placeholders shipped in .env.example; production must not run with them.
const PLACEHOLDER = /change[-_ ]?me|example|placeholder/i

/**
 * Validates the environment (plus `.env`) and returns the typed configuration.
 * Throws ConfigError with one line naming the first bad variable.
 */
export function loadConfig (source: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = givenEnv(source)
  const env = Value.Default(Env, Value.Convert(Env, Value.Clean(Env, { ...raw }))) as Env
  const [first] = Value.Errors(Env, env)
  if (first) {
    const name = first.path.replace(/^\//, '')
    const schema = (Env.properties as Record<string, { description?: string }>)[name]
    fail(name, `must be ${schema?.description ?? first.message}`)
  }

  checkUrl('PUBLIC_URL', env.PUBLIC_URL, ['http:', 'https:'])
  checkUrl('APP_URL', env.APP_URL, ['http:', 'https:'])
  checkUrl('DATABASE_URL', env.DATABASE_URL, ['postgres:', 'postgresql:'])
  checkUrl('DATABASE_READ_URL', env.DATABASE_READ_URL, ['postgres:', 'postgresql:'])
  checkUrl('REDIS_URL', env.REDIS_URL, ['redis:', 'rediss:'])
  checkUrl('SMTP_URL', env.SMTP_URL, ['smtp:', 'smtps:'])
  checkUrl('OTEL_EXPORTER_OTLP_ENDPOINT', env.OTEL_EXPORTER_OTLP_ENDPOINT, ['http:', 'https:'])
  // Unset, the API's own address (HOST/PORT as a browser here opens it): the printed URLs, the
  // links, Swagger's server and the CORS/CSRF allow-list then agree whatever PORT is.
  const publicUrl = (env.PUBLIC_URL ?? listenerUrl(env.HOST, env.PORT)).replace(/\/+$/, '')
  const corsOrigins = env.CORS_ORIGINS?.split(',').map((o) => o.trim()).filter(Boolean) ?? [new URL(publicUrl).origin]
  for (const origin of corsOrigins) checkUrl('CORS_ORIGINS', origin, ['http:', 'https:'])
  if (env.WORKER_METRICS_PORT !== undefined && env.METRICS_TOKEN === undefined) fail('WORKER_METRICS_PORT', 'needs METRICS_TOKEN: metrics are served only to its bearer')

  const dataDir = resolve(env.DATA_DIR)
  const production = env.NODE_ENV === 'production'
  let jwtSecret = env.JWT_SECRET
  let encryptionKey = env.ENCRYPTION_KEY
  let databaseUrl = env.DATABASE_URL
  let redisUrl = env.REDIS_URL

  if (production) {
    // Production takes real payments: the local simulator is for development only. Its links
    // and CORS origin must name the address clients use, never a guess from HOST/PORT.
    for (const [name, value] of [['DATABASE_URL', databaseUrl], ['REDIS_URL', redisUrl ?? env.REDIS_CLUSTER_NODES], ['JWT_SECRET', jwtSecret],
      ['ENCRYPTION_KEY', encryptionKey], ['SMTP_URL', env.SMTP_URL], ['STRIPE_SECRET_KEY', env.STRIPE_SECRET_KEY],
      ['STRIPE_WEBHOOK_SECRET', env.STRIPE_WEBHOOK_SECRET], ['PUBLIC_URL', env.PUBLIC_URL]] as const) {
      if (value === undefined) fail(name, 'is required in production')
    }
    const dev = readDevSecrets(dataDir)
    for (const [name, value] of [['JWT_SECRET', jwtSecret], ['ENCRYPTION_KEY', encryptionKey]] as const) {
      if (PLACEHOLDER.test(value!) || value === dev?.jwtSecret || value === dev?.encryptionKey) {
        fail(name, 'is a development default; production needs a secret of its own')
      }
    }
  } else {
    if (env.NODE_ENV === 'development') {
      // The data folder's development secrets (the development commands, scripts/lib/dev-env.ts,
      // generate them), never per-process random ones: an API and a worker started separately
      // must share the key, or neither can open what the other sealed.
      const dev = readDevSecrets(dataDir)
      jwtSecret ??= dev?.jwtSecret
      encryptionKey ??= dev?.encryptionKey
      for (const [name, value] of [['JWT_SECRET', jwtSecret], ['ENCRYPTION_KEY', encryptionKey]] as const) {
        if (value === undefined) fail(name, `is not set: \`npm start\` (or any development command) generates development secrets into ${devSecretsFile(env.DATA_DIR)}; or set it in .env`)
      }
    }
    // Tests: throwaway ones, in memory. Processes that must agree are given theirs explicitly.
    jwtSecret ??= randomBytes(32).toString('base64url')
    encryptionKey ??= randomBytes(32).toString('base64url')
    // The default local ports; the development commands pass the URLs of the services they provide.
    databaseUrl ??= DEFAULT_DATABASE_URL
    redisUrl ??= DEFAULT_REDIS_URL
  }

  return {
    env: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    publicUrl,
    appUrl: (env.APP_URL ?? publicUrl).replace(/\/+$/, ''),
    databaseUrl: databaseUrl!,
    databaseUrlSet: env.DATABASE_URL !== undefined,
    databaseReadUrl: env.DATABASE_READ_URL,
    databasePoolMax: env.DATABASE_POOL_MAX,
    databasePreparedStatements: env.DATABASE_PREPARED_STATEMENTS,
    // Production with a cluster alone: no credentials or TLS for its nodes.
    redisUrl: redisUrl ?? DEFAULT_REDIS_URL,
    redisUrlSet: env.REDIS_URL !== undefined,
    redisClusterNodes: parseRedisClusterNodes(env.REDIS_CLUSTER_NODES, env.REDIS_URL),
    redisPrefix: env.REDIS_PREFIX,
    // A hash tag: on a Redis Cluster every key of every queue must sit in one slot (BullMQ's scripts).
    queuePrefix: `{${env.REDIS_PREFIX.replace(/:+$/, '')}-bull}`,
    jwtSecret: jwtSecret!,
    encryptionKey: encryptionKey!,
    accessTokenTtl: env.ACCESS_TOKEN_TTL,
    refreshTokenTtl: env.REFRESH_TOKEN_TTL,
    sessionIdleTtl: env.SESSION_IDLE_TTL,
    smtpUrl: env.SMTP_URL,
    mailFrom: env.MAIL_FROM,
    mailDir: join(dataDir, 'mail'),
    mailPreview: env.NODE_ENV === 'development' && env.SMTP_URL === undefined,
    ...paymentsConfig(env),
    dataDir,
    uploadDir: resolve(env.UPLOAD_DIR ?? join(dataDir, 'uploads')),
    uploadMaxBytes: env.UPLOAD_MAX_BYTES,
    storage: storageConfig(env),
    geoipDatabases: geoipDatabases(env),
    sms: smsConfig(env),
    corsOrigins,
    trustProxy: parseTrustProxy(env.TRUST_PROXY, production),
    rateLimitMax: env.RATE_LIMIT_MAX,
    authRateLimitMax: env.AUTH_RATE_LIMIT_MAX,
    logLevel: env.LOG_LEVEL,
    outboxIntervalMs: 1000,
    shutdownDrainMs: env.SHUTDOWN_DRAIN_MS,
    catalogCache: { ttlMs: env.CATALOG_CACHE_TTL_MS, maxEntries: 5000, maxBytes: 16 * 1024 * 1024 },
    tracing: { endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT, headers: env.OTEL_EXPORTER_OTLP_HEADERS, serviceName: env.OTEL_SERVICE_NAME, sampleRatio: env.OTEL_TRACES_SAMPLER_ARG },
    metricsToken: env.METRICS_TOKEN,
    workerMetricsPort: env.WORKER_METRICS_PORT
  }
}

/** NODE_ENV alone (environment, else `.env`): for tools that refuse an environment before validating it. */
export function nodeEnvOf (source: Record<string, string | undefined> = process.env): string {
  return source.NODE_ENV || readDotenv().NODE_ENV || 'development'
}

/** For process entry points: a bad environment ends the process with one line on stderr. */
export function loadConfigOrExit (source: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(source)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n')
      process.exit(1)
    }
    throw err
  }
}
