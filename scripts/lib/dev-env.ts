import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { DEFAULT_DATA_DIR, devSecretsFile, givenEnv, loadConfigOrExit, type Config } from '../../src/config.ts'

// The environment of development commands. `npm start` and `npm test` provide Postgres and
// Redis (./local-services.ts) and hand their URLs to their children; the one-off commands
// (migrate, seed, admin:create, pay, db:types) find them here, in the record `npm start` keeps.
// Outside production these commands also provide JWT_SECRET and ENCRYPTION_KEY when neither the
// environment nor .env sets them: the development secrets of the data folder (loadConfig()
// itself never makes up secrets a second process would have to share).

export interface DevSecrets { jwtSecret: string, encryptionKey: string }

/** Development secrets are generated once per data folder and kept there (mode 600). */
export function devSecrets (dataDir: string): DevSecrets {
  const file = devSecretsFile(dataDir)
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevSecrets
  const secrets = { jwtSecret: randomBytes(48).toString('base64url'), encryptionKey: randomBytes(48).toString('base64url') }
  mkdirSync(dataDir, { recursive: true })
  try {
    writeFileSync(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
  } catch (err) {
    // Another command created it first: theirs it is.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return JSON.parse(readFileSync(file, 'utf8')) as DevSecrets
    throw err
  }
  return secrets
}

/**
 * JWT_SECRET and ENCRYPTION_KEY to add to `source` (the environment a command validates and
 * hands to its children): the data folder's development secrets, for whichever of the two
 * neither `source` nor .env sets. Nothing in production, which needs secrets of its own (nor
 * for a NODE_ENV loadConfig() will refuse anyway).
 */
export function devSecretsEnv (source: Record<string, string | undefined> = process.env): Record<string, string> {
  const given = givenEnv(source)
  const nodeEnv = given.NODE_ENV ?? 'development'
  if ((nodeEnv !== 'development' && nodeEnv !== 'test') || (given.JWT_SECRET && given.ENCRYPTION_KEY)) return {}
  const dev = devSecrets(resolve(given.DATA_DIR ?? DEFAULT_DATA_DIR))
  return {
    ...(given.JWT_SECRET ? {} : { JWT_SECRET: dev.jwtSecret }),
    ...(given.ENCRYPTION_KEY ? {} : { ENCRYPTION_KEY: dev.encryptionKey })
  }
}

/** Where `npm start` records the local services it started, so other processes find them. */
export function localServicesFile (dataDir: string): string {
  return join(dataDir, 'services.json')
}

export interface LocalServicesRecord { databaseUrl?: string, redisUrl?: string }

export function readLocalServices (dataDir: string): LocalServicesRecord {
  const file = localServicesFile(dataDir)
  if (!existsSync(file)) return {}
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LocalServicesRecord
  } catch {
    return {}
  }
}

/**
 * The configuration of a one-off development command: the environment (and `.env`) as given,
 * except that outside production secrets given nowhere are the development secrets
 * (devSecretsEnv), and a DATABASE_URL or REDIS_URL given nowhere is the one of the local
 * services `npm start` recorded, when there is such a record.
 */
export function loadDevConfig (source: Record<string, string | undefined> = process.env): Config {
  const withSecrets = { ...source, ...devSecretsEnv(source) }
  const given = loadConfigOrExit(withSecrets)
  if (given.env === 'production' || (given.databaseUrlSet && given.redisUrlSet)) return given
  const local = readLocalServices(given.dataDir)
  return loadConfigOrExit({
    ...withSecrets,
    ...(given.databaseUrlSet || !local.databaseUrl ? {} : { DATABASE_URL: local.databaseUrl }),
    ...(given.redisUrlSet || given.redisClusterNodes || !local.redisUrl ? {} : { REDIS_URL: local.redisUrl })
  })
}

/** The environment for a child process of ours: this one's, with the given overrides. */
export function childEnv (overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides }
}
