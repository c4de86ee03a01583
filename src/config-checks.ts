import { isIP } from 'node:net'

// The checks loadConfig() (config.ts) runs beyond the schema (URLs, the proxy list), and the
// defaults it derives from other settings.

export class ConfigError extends Error {}

export function fail (name: string, why: string): never {
  throw new ConfigError(`Invalid environment: ${name} ${why}`)
}

export function checkUrl (name: string, value: string | undefined, protocols: string[]): void {
  if (value === undefined) return
  const expected = protocols.map((p) => `${p}//`).join(' or ')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    fail(name, `must be a URL starting with ${expected}`)
  }
  if (!protocols.includes(url.protocol)) fail(name, `must be a URL starting with ${expected} (got ${url.protocol}//)`)
}

/**
 * The URL a browser on this machine opens a listener at: `localhost` for a loopback or wildcard
 * address (one name for all of them, and the one front-end dev servers use: a front end on
 * another localhost port is then the same site, so the API's SameSite cookies reach it).
 */
export function listenerUrl (host: string, port: number): string {
  const loopback = host === 'localhost' || host === '0.0.0.0' || host === '::' || host === '::1' || /^127\./.test(host)
  const name = loopback ? 'localhost' : isIP(host) === 6 ? `[${host}]` : host
  return `http://${name}${port === 80 ? '' : `:${port}`}`
}

export interface RedisNode { host: string, port: number }

/** REDIS_CLUSTER_NODES: `host:port` entries (IPv6 as `[addr]:port`), comma-separated. */
export function parseRedisClusterNodes (value: string | undefined, redisUrl?: string): RedisNode[] | undefined {
  if (value === undefined) return undefined
  // A cluster has database 0 only: an index would be silently ignored.
  if (redisUrl !== undefined && !['', '/', '/0'].includes(new URL(redisUrl).pathname)) {
    fail('REDIS_URL', 'cannot name a database index with REDIS_CLUSTER_NODES (a cluster has database 0 only)')
  }
  const nodes = value.split(',').map((entry) => entry.trim()).filter(Boolean).map((entry) => {
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(entry)
    const port = Number(match?.[3])
    if (!match || port < 1 || port > 65535) fail('REDIS_CLUSTER_NODES', `must be comma-separated host:port seed nodes (got "${entry}")`)
    return { host: match[1] ?? match[2]!, port }
  })
  if (nodes.length === 0) fail('REDIS_CLUSTER_NODES', 'must name at least one host:port seed node')
  return nodes
}

const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal'])

function isProxyAddress (entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true
  const [address, prefix, extra] = entry.split('/')
  const version = isIP(address ?? '')
  if (version === 0 || extra !== undefined) return false
  if (prefix === undefined) return true
  // Not /0: that trusts every address (like `true`), and proxy-addr throws on it when the app starts.
  return /^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= (version === 4 ? 32 : 128)
}

export function parseTrustProxy (value: string, production: boolean): boolean | number | string[] {
  const trimmed = value.trim()
  if (trimmed === 'true') {
    // proxy-addr would take every X-Forwarded-For entry as a proxy: any client picks its own IP
    // (and so its rate-limit key and its recorded address).
    if (production) fail('TRUST_PROXY', 'must not be true in production: it believes any client\'s X-Forwarded-For; list your proxies\' addresses/CIDRs or give a hop count')
    return true
  }
  if (trimmed === 'false') return false
  if (/^\d+$/.test(trimmed)) return Number(trimmed) === 0 ? false : Number(trimmed)
  const entries = trimmed.split(',').map((entry) => entry.trim())
  if (entries.length === 0 || !entries.every(isProxyAddress)) {
    fail('TRUST_PROXY', `must be false, a hop count or a comma-separated list of addresses/CIDRs (got "${value}")`)
  }
  return entries
}
