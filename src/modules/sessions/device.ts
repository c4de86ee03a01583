import { createHash } from 'node:crypto'
import Bowser from 'bowser'
import type { SessionType } from './schemas.ts'

// What a session knows about the client: the device (from the User-Agent, parsed by bowser,
// a maintained MIT parser) and a stable fingerprint; where it is: location.ts.

export interface Device {
  deviceType: string
  deviceName: string | null
  browser: string | null
  browserVersion: string | null
  os: string | null
  osVersion: string | null
  userAgent: string | null
}

export function parseDevice (userAgent: string | undefined): Device {
  const ua = (userAgent ?? '').slice(0, 1024)
  if (!ua.trim()) return { deviceType: 'unknown', deviceName: null, browser: null, browserVersion: null, os: null, osVersion: null, userAgent: null }
  const parsed = Bowser.parse(ua)
  const platform = parsed.platform ?? {}
  const os = parsed.os ?? {}
  const name = [platform.vendor, platform.model].filter(Boolean).join(' ') ||
    [os.name, platform.type].filter(Boolean).join(' ') || null
  return {
    deviceType: platform.type ?? 'unknown',
    deviceName: name,
    browser: parsed.browser?.name || null,
    browserVersion: parsed.browser?.version || null,
    os: os.name || null,
    osVersion: os.versionName ?? os.version ?? null,
    userAgent: ua
  }
}

export interface ClientRequest {
  ip: string
  headers: Record<string, string | string[] | undefined>
  /** Whether the request came through a trusted proxy (TRUST_PROXY), so its location headers can be believed. */
  trustProxy: boolean
}

export function header (headers: ClientRequest['headers'], name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

/**
 * The client's own fingerprint when it sends one; otherwise a stable hash of the User-Agent
 * and the client hints, so the same browser on the same device maps to the same value.
 */
export function fingerprintOf (client: ClientRequest, provided?: string): string {
  if (provided) return provided
  const h = client.headers
  const parts = ['user-agent', 'sec-ch-ua', 'sec-ch-ua-platform', 'sec-ch-ua-mobile', 'sec-ch-ua-model', 'accept-language']
    .map((name) => header(h, name) ?? '')
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32)
}

/** Cookie clients are browsers; a bearer client on a phone without a browser is an app. */
export function sessionTypeOf (device: Device, cookieMode: boolean, requested?: SessionType): SessionType {
  if (requested) return requested
  if (cookieMode) return 'web'
  if ((device.deviceType === 'mobile' || device.deviceType === 'tablet') && !device.browser) return 'mobile'
  return device.browser ? 'web' : 'api'
}
