import { isPlaceName, locateIp, type IpLocation } from '../../platform/geoip.ts'
import { isTimeZone } from '../../platform/time-zone.ts'
import type { Deps } from '../../platform/deps.ts'
import { header, type ClientRequest } from './device.ts'
import type { Analytics, LocationSource } from './schemas.ts'

// Where a session is (SPEC 6, issue 15): one source places it whole, the first that can of
//   proxy   the location headers of a proxy TRUST_PROXY trusts (Cloudflare, CloudFront, x-geo-*),
//           which saw the connection;
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

/** The trusted proxy's place, when it names a country (Cloudflare's XX is "unknown", T1 Tor). */
function proxyLocation (client: ClientRequest): IpLocation | null {
  if (!client.trustProxy) return null
  const h = client.headers
  const country = header(h, 'cf-ipcountry') ?? header(h, 'cloudfront-viewer-country') ?? header(h, 'x-geo-country')
  if (!country || !/^[A-Za-z]{2}$/.test(country) || country.toUpperCase() === 'XX') return null
  const city = header(h, 'cf-ipcity') ?? header(h, 'cloudfront-viewer-city') ?? header(h, 'x-geo-city')
  const latitude = coordinate(header(h, 'cf-iplatitude') ?? header(h, 'cloudfront-viewer-latitude') ?? header(h, 'x-geo-latitude'), 90)
  const longitude = coordinate(header(h, 'cf-iplongitude') ?? header(h, 'cloudfront-viewer-longitude') ?? header(h, 'x-geo-longitude'), 180)
  const timezone = header(h, 'cf-timezone') ?? header(h, 'cloudfront-viewer-time-zone') ?? header(h, 'x-geo-timezone')
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
