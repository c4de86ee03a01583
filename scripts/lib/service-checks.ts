import pg from 'pg'
import { Cluster, Redis } from 'ioredis'
import type { RedisNode } from '../../src/config-checks.ts'
import { clusterNodeCredentials } from '../../src/platform/redis.ts'

// What `npm start` checks of the services it is given (DATABASE_URL, REDIS_URL or
// REDIS_CLUSTER_NODES) before it runs
// anything on them: each answers, and the database exists (created when missing). A failure
// says which service, at which URL (never its password), what went wrong and what to do.

export class ServiceError extends Error {}

/** The URL without its password, fit for a terminal or a log. */
export function redactUrl (url: string): string {
  try {
    const parsed = new URL(url)
    parsed.password = ''
    // pg also takes secrets as query parameters.
    for (const name of ['password', 'sslpassword', 'sslkey']) parsed.searchParams.delete(name)
    return parsed.toString()
  } catch {
    return '(an unparseable URL)'
  }
}

// Decoded as pg itself decodes it (decodeURI, not decodeURIComponent), or we would create another database.
const databaseOf = (url: string): string => decodeURI(new URL(url).pathname.slice(1)) || 'postgres'

export function withDatabase (url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

interface PgError { code?: string, message: string }

function unreachable (service: 'Postgres' | 'Redis', variable: string, url: string, err: PgError): ServiceError {
  return new ServiceError(`${service} at ${redactUrl(url)} did not answer (${err.code ?? err.message}). ` +
    `Start it or correct ${variable}; or unset ${variable}, and npm start uses or starts a local ${service}.`)
}

/** Why Postgres refused `url`, in words that say what to change. */
function postgresFailure (url: string, err: PgError): ServiceError {
  switch (err.code) {
    case '28P01': case '28000':
      return new ServiceError(`Postgres at ${redactUrl(url)} refused the sign-in (${err.message}). Correct the user or password in DATABASE_URL.`)
    case '3D000':
      return new ServiceError(`Postgres at ${redactUrl(url)}: ${err.message}. Create it (createdb "${databaseOf(url)}"); npm start does so itself in development.`)
    case undefined: case 'ECONNREFUSED': case 'ENOTFOUND': case 'ETIMEDOUT': case 'EAI_AGAIN': case 'EHOSTUNREACH':
      return unreachable('Postgres', 'DATABASE_URL', url, err)
    default:
      return new ServiceError(`Postgres at ${redactUrl(url)} failed: ${err.message} (${err.code}).`)
  }
}

// PgBouncer answers a database it cannot reach on the server with its own protocol error
// (08P01), not Postgres's 3D000: for npm start it is the same missing database.
const missingDatabase = (err: PgError) => err.code === '3D000' || (err.code === '08P01' && /no such database|does not exist/i.test(err.message))

async function connected (url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  client.on('error', () => {})
  try {
    await client.connect()
    return client
  } catch (err) {
    await client.end().catch(() => {})
    throw err
  }
}

/**
 * Checks that Postgres answers at `url` and has the database it names; creates the database
 * when it is missing and `create` (connecting to the server's `postgres` database to do so).
 * Returns whether it created it; throws a ServiceError naming the failure otherwise.
 */
export async function ensureDatabase (url: string, create = true): Promise<boolean> {
  try {
    await (await connected(url)).end()
    return false
  } catch (err) {
    if (!missingDatabase(err as PgError)) throw postgresFailure(url, err as PgError)
    if (!create) throw postgresFailure(url, { code: '3D000', message: (err as PgError).message })
  }
  const name = databaseOf(url)
  const admin = await connected(withDatabase(url, 'postgres')).catch((err: PgError) => { throw postgresFailure(withDatabase(url, 'postgres'), err) })
  try {
    await admin.query(`create database "${name.replace(/"/g, '""')}"`)
    return true
  } catch (err) {
    const e = err as PgError
    if (e.code === '42P04') return false // created meanwhile by someone else
    const user = decodeURIComponent(new URL(url).username) || 'postgres'
    throw new ServiceError(`Could not create the database "${name}" on Postgres at ${redactUrl(url)}: ${e.message}. ` +
      `Create it yourself (createdb "${name}"), or give the user "${user}" the CREATEDB right.`)
  } finally {
    await admin.end().catch(() => {})
  }
}

/** Throws a ServiceError unless Redis answers PING at `url`. */
export async function checkRedis (url: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
  // connect() rejects with "Connection is closed."; the socket's own error says why.
  let socketError: PgError | undefined
  client.on('error', (err: PgError) => { socketError ??= err })
  try {
    await client.connect()
    await client.ping()
  } catch (err) {
    const e = socketError ?? err as PgError
    if (/NOAUTH|WRONGPASS/.test(e.message)) throw new ServiceError(`Redis at ${redactUrl(url)} refused the sign-in (${e.message}). Correct the password in REDIS_URL.`)
    throw unreachable('Redis', 'REDIS_URL', url, e)
  } finally {
    client.disconnect()
  }
}

/**
 * Throws a ServiceError unless the Redis Cluster seeded by `nodes` answers and says its slots
 * are all served (CLUSTER INFO cluster_state:ok). Credentials and TLS come from REDIS_URL, as
 * for the app's own cluster clients.
 */
export async function checkRedisCluster (nodes: readonly RedisNode[], redisUrl: string): Promise<void> {
  const seeds = nodes.map((n) => `${n.host}:${n.port}`).join(',')
  const client = new Cluster([...nodes], {
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: () => null,
    redisOptions: { connectTimeout: 5000, maxRetriesPerRequest: 0, ...clusterNodeCredentials(redisUrl) }
  })
  let socketError: PgError | undefined
  client.on('error', (err: PgError) => { socketError ??= err })
  try {
    await client.connect()
    const info = await client.cluster('INFO')
    const state = /cluster_state:(\w+)/.exec(info)?.[1]
    if (state !== 'ok') throw new ServiceError(`The Redis Cluster at ${seeds} is not serving all its slots (cluster_state:${state ?? 'unknown'}). Wait for it to form, or correct REDIS_CLUSTER_NODES.`)
  } catch (err) {
    if (err instanceof ServiceError) throw err
    const e = socketError ?? err as PgError
    if (/NOAUTH|WRONGPASS/.test(e.message)) throw new ServiceError(`The Redis Cluster at ${seeds} refused the sign-in (${e.message}). Correct the password in REDIS_URL.`)
    throw new ServiceError(`The Redis Cluster at ${seeds} did not answer (${e.code ?? e.message}). ` +
      'Start it or correct REDIS_CLUSTER_NODES; or unset REDIS_CLUSTER_NODES, and npm start uses or starts a local Redis.')
  } finally {
    client.disconnect()
  }
}
