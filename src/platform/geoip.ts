import tzLookup from '@photostructure/tz-lookup'
import ipaddr from 'ipaddr.js'
import maxmind, { type Reader, type Response } from 'maxmind'
import type { Logger } from 'pino'
import { isSingleLine } from './schema-types.ts'

// Where an IP address is, from MaxMind DB files read in process (GEOIP_DATABASE; by default
// DB-IP's IP to City Lite, CC BY 4.0: whoever shows its answers credits DB-IP). No network.

export interface IpLocation {
  countryCode: string
  city: string | null
  latitude: number | null
  longitude: number | null
  timezone: string | null
}

/** The record shape of the ip-location-db files (country_code, state1, city, latitude, ...), not MaxMind's own. */
interface CityRecord {
  country_code?: string
  city?: string
  latitude?: number
  longitude?: number
  timezone?: string
}

interface Database { path: string, reader: Reader<Response> }

// Each file is read into memory once per process (~135 MB for both packaged files), on the first
// public address, and shared by every app the process builds (tests build many).
const opened = new Map<string, Promise<Database>>()

function openDatabase (path: string): Promise<Database> {
  let database = opened.get(path)
  if (!database) {
    database = maxmind.open(path).then((reader) => ({ path, reader }))
    // A failed read is tried again by a later lookup, not remembered.
    database.catch(() => opened.delete(path))
    opened.set(path, database)
  }
  return database
}

/**
 * The address a lookup may place, or null: only public unicast addresses. Private, loopback,
 * link-local, CGNAT, documentation, multicast, reserved and tunnel (6to4, Teredo, NAT64)
 * ranges say nothing about where a person is. An IPv4-mapped IPv6 address is its IPv4 address.
 */
export function publicAddress (ip: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!ipaddr.isValid(ip)) return null
  const address = ipaddr.process(ip)
  return address.range() === 'unicast' ? address : null
}

/** A city name fit to show: one line (SINGLE_LINE), 1-128 characters. */
export const isPlaceName = (name: string): boolean => isSingleLine(name) && /^.{1,128}$/su.test(name)

function locationOf (record: CityRecord | null): IpLocation | null {
  if (!record?.country_code || !/^[A-Z]{2}$/.test(record.country_code)) return null
  const { latitude, longitude } = record
  const placed = typeof latitude === 'number' && typeof longitude === 'number' && Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180
  return {
    countryCode: record.country_code,
    city: record.city && isPlaceName(record.city) ? record.city : null,
    latitude: placed ? latitude : null,
    longitude: placed ? longitude : null,
    // DB-IP Lite carries no time zone: the zone at the coordinates (an offline boundary lookup).
    timezone: record.timezone || (placed ? tzLookup(latitude, longitude) : null)
  }
}

/**
 * Where `ip` is, by the first of `paths` covering its family (a file's metadata says whether it
 * holds IPv4 or IPv6; an IPv6 file also answers IPv4 addresses). Null for a non-public address,
 * an address the database does not know, or a database that cannot be read (logged).
 */
export async function locateIp (paths: readonly string[], ip: string, log: Pick<Logger, 'error'>): Promise<IpLocation | null> {
  const address = publicAddress(ip)
  if (!address || paths.length === 0) return null
  let databases: Database[]
  try {
    databases = await Promise.all(paths.map(openDatabase))
  } catch (err) {
    log.error({ err }, 'the GEOIP_DATABASE file could not be read: sessions are not placed by IP')
    return null
  }
  const family = address.kind() === 'ipv4' ? 4 : 6
  const database = databases.find((d) => d.reader.metadata.ipVersion === family) ?? databases.find((d) => d.reader.metadata.ipVersion === 6)
  return database ? locationOf(database.reader.get(address.toString()) as CityRecord | null) : null
}
