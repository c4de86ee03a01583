import { isPlaceName, locateIp, type IpLocation } from '../../platform/geoip.ts'
import { isTimeZone } from '../../platform/time-zone.ts'
import type { Deps } from '../../platform/deps.ts'
import { header, type ClientRequest } from './device.ts'
import type { Analytics, LocationSource } from './schemas.ts'

// Where a session is (SPEC 6, issue 15): one source places it whole, the first that can of
//   proxy   the location headers of a proxy TRUST_PROXY trusts (Cloudflare, CloudFront, x-geo-*),
//           which saw the connection (it must strip or overwrite those names from clients);
//   client  the client's own `analytics` (a device may know better than its address);
//   ip      the client address in the in-process database (platform/geoip.ts);
//   none    e.g. a private address.
// The time zone is the device's own setting when the client sends one, else the source's.

export interface Network {
  ipAddress: string
  countryCode: string | null
  city: string | null
  latitude: number | null
  longitude: number | null
  timezone: string | null
  locationSource: LocationSource
}

function coordinate (value: string | undefined, limit: number): number | null {
  if (value === undefined || value.trim() === '') return null
  const number = Number(value)
  return Number.isFinite(number) && Math.abs(number) <= limit ? number : null
}

// Each vendor's header names, in the order they are tried. A family is read whole: the first
// whose country header is present places the session or nothing does, so a header of another
// family that the proxy passed on from the client never mixes in (nor replaces an "unknown").
const HEADER_FAMILIES = [
  { country: 'cf-ipcountry', city: 'cf-ipcity', latitude: 'cf-iplatitude', longitude: 'cf-iplongitude', timezone: 'cf-timezone' },
  { country: 'cloudfront-viewer-country', city: 'cloudfront-viewer-city', latitude: 'cloudfront-viewer-latitude', longitude: 'cloudfront-viewer-longitude', timezone: 'cloudfront-viewer-time-zone' },
  { country: 'x-geo-country', city: 'x-geo-city', latitude: 'x-geo-latitude', longitude: 'x-geo-longitude', timezone: 'x-geo-timezone' }
] as const

/** The trusted proxy's place, when it names a country (Cloudflare's XX is "unknown", T1 Tor). */
function proxyLocation (client: ClientRequest): IpLocation | null {
  if (!client.trustProxy) return null
  const h = client.headers
  const names = HEADER_FAMILIES.find((family) => header(h, family.country) !== undefined)
  const country = names && header(h, names.country)
  if (!names || !country || !/^[A-Za-z]{2}$/.test(country) || country.toUpperCase() === 'XX') return null
  const city = header(h, names.city)
  const latitude = coordinate(header(h, names.latitude), 90)
  const longitude = coordinate(header(h, names.longitude), 180)
  const timezone = header(h, names.timezone)
  const placed = latitude !== null && longitude !== null
  return {
    countryCode: country.toUpperCase(),
    city: city && isPlaceName(city) ? city : null,
    latitude: placed ? latitude : null,
    longitude: placed ? longitude : null,
    timezone: timezone && isTimeZone(timezone) ? timezone : null
  }
}

/** The client's place; its fields were validated with the request (schemas.ts, Analytics). */
function clientLocation (analytics: Analytics): IpLocation | null {
  if (!analytics.countryCode) return null
  return {
    countryCode: analytics.countryCode.toUpperCase(),
    city: analytics.city ?? null,
    latitude: analytics.latitude ?? null,
    longitude: analytics.longitude ?? null,
    timezone: null
  }
}

export async function networkOf (deps: Pick<Deps, 'config' | 'log'>, client: ClientRequest, analytics: Analytics): Promise<Network> {
  let source: LocationSource = 'proxy'
  let location = proxyLocation(client)
  if (!location) {
    source = 'client'
    location = clientLocation(analytics)
  }
  if (!location) {
    source = 'ip'
    location = await locateIp(deps.config.geoipDatabases, client.ip, deps.log)
  }
  return {
    ipAddress: client.ip,
    countryCode: location?.countryCode ?? null,
    city: location?.city ?? null,
    latitude: location?.latitude ?? null,
    longitude: location?.longitude ?? null,
    timezone: analytics.timezone ?? location?.timezone ?? null,
    locationSource: location ? source : 'none'
  }
}
