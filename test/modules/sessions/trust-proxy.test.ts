import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import t from 'tap'
import { loadConfig } from '../../../src/config.ts'
import { fastifyTrustProxy } from '../../../src/platform/security.ts'
import { createTestEnv } from '../../helpers/app.ts'
import { createUser, PASSWORD } from '../../helpers/auth.ts'

// TRUST_PROXY names the proxies whose X-Forwarded-For (and CDN location headers) we believe:
// a list of addresses/CIDRs, or a hop count; `true` believes any client and is refused in
// production. A client that did not come through a trusted proxy sets neither its address
// nor its country.

const dataDir = () => mkdtempSync(join(tmpdir(), 'bazaar-config-'))
const trustOf = (value: string, env = 'test') => loadConfig({ NODE_ENV: env, DATA_DIR: dataDir(), TRUST_PROXY: value }).trustProxy

t.test('TRUST_PROXY: off, a hop count, or a list of addresses and CIDRs', async (t) => {
  t.equal(trustOf('false'), false)
  t.equal(trustOf('0'), false, 'zero hops trusts nobody')
  t.equal(trustOf('2'), 2)
  t.same(trustOf('10.0.0.1, 192.168.0.0/16,2001:db8::/32 ,::1,loopback'), ['10.0.0.1', '192.168.0.0/16', '2001:db8::/32', '::1', 'loopback'])
  t.equal(trustOf('true'), true, 'allowed outside production')
  for (const bad of ['10.0.0.300', '10.0.0.0/33', 'proxy.example', '2001:db8::/129', '10.0.0.1,,', '-1', 'yes']) {
    t.throws(() => trustOf(bad), { message: /^Invalid environment: TRUST_PROXY must be false, a hop count or a comma-separated list of addresses\/CIDRs/ }, bad)
  }
})

t.test('a /0 range (every address, i.e. true) is refused when the environment is read, not when the app starts', async (t) => {
  for (const everyone of ['0.0.0.0/0', '::/0', '10.0.0.1, 0.0.0.0/0', '::ffff:0.0.0.0/0']) {
    t.throws(() => trustOf(everyone), { message: /^Invalid environment: TRUST_PROXY must be false, a hop count or a comma-separated list of addresses\/CIDRs/ }, everyone)
  }
  // Whatever the environment accepts, Fastify accepts too (it compiles the list as it is created).
  for (const value of ['10.0.0.0/8', '203.0.113.0/24', '::1/128', '::ffff:10.0.0.0/104', 'fe80::/10', '192.0.2.1, loopback', '3']) {
    t.doesNotThrow(() => Fastify({ trustProxy: fastifyTrustProxy(trustOf(value)) }), value)
  }
})

t.test('TRUST_PROXY=true is refused in production', async (t) => {
  const production = {
    NODE_ENV: 'production',
    DATA_DIR: dataDir(),
    DATABASE_URL: 'postgres://u:p@db/bazaar',
    REDIS_URL: 'redis://cache:6379',
    SMTP_URL: 'smtp://mail:587',
    STRIPE_SECRET_KEY: 'sk_live_x',
    STRIPE_WEBHOOK_SECRET: 'whsec_x',
    PUBLIC_URL: 'https://api.example.org',
    JWT_SECRET: 'a'.repeat(40),
    ENCRYPTION_KEY: 'b'.repeat(40)
  }
  t.throws(() => loadConfig({ ...production, TRUST_PROXY: 'true' }), { message: /^Invalid environment: TRUST_PROXY must not be true in production: it believes any client's X-Forwarded-For/ })
  t.same(loadConfig({ ...production, TRUST_PROXY: '10.0.0.0/8' }).trustProxy, ['10.0.0.0/8'])
  t.equal(loadConfig({ ...production, TRUST_PROXY: '1' }).trustProxy, 1)
})

const CDN = { 'cf-ipcountry': 'FR', 'cf-iplatitude': '48.85', 'cf-iplongitude': '2.35', 'cf-timezone': 'Europe/Paris' }

async function signIn (env: Awaited<ReturnType<typeof createTestEnv>>, email: string, remoteAddress: string, headers: Record<string, string>) {
  const res = await env.app.inject({ method: 'POST', url: '/auth/login', remoteAddress, headers, payload: { email, password: PASSWORD } })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  return res.json().session
}

t.test('with a list, only a listed proxy is believed: for the client address and for location', async (t) => {
  const env = await createTestEnv(t, { config: { trustProxy: ['10.0.0.0/8', '192.0.2.1'] } })
  const user = await createUser(env)

  const viaProxy = await signIn(env, user.email, '10.1.2.3', { 'x-forwarded-for': '203.0.113.7', ...CDN })
  t.match(viaProxy, { ipAddress: '203.0.113.7', countryCode: 'FR', latitude: 48.85, longitude: 2.35, timezone: 'Europe/Paris' }, 'through a trusted proxy')

  const viaSingle = await signIn(env, user.email, '192.0.2.1', { 'x-forwarded-for': '203.0.113.8', 'cf-ipcountry': 'DE' })
  t.match(viaSingle, { ipAddress: '203.0.113.8', countryCode: 'DE' }, 'a single listed address')

  const direct = await signIn(env, user.email, '198.51.100.9', { 'x-forwarded-for': '203.0.113.7', ...CDN })
  t.match(direct, { ipAddress: '198.51.100.9', countryCode: null, latitude: null, longitude: null, timezone: null }, 'a direct client spoofing the headers sets nothing')

  const spoofedChain = await signIn(env, user.email, '10.1.2.3', { 'x-forwarded-for': '10.9.9.9, 203.0.113.9' })
  t.equal(spoofedChain.ipAddress, '203.0.113.9', 'the address the proxy saw, not one the client claimed before it')
})

t.test('with a hop count, the address that many hops back is the client', async (t) => {
  const env = await createTestEnv(t, { config: { trustProxy: 1 } })
  const user = await createUser(env)
  const session = await signIn(env, user.email, '10.0.0.5', { 'x-forwarded-for': '192.0.2.50, 203.0.113.20', ...CDN })
  t.match(session, { ipAddress: '203.0.113.20', countryCode: 'FR' }, 'one hop: the load balancer\'s view of the client')
  const noHeader = await signIn(env, user.email, '10.0.0.5', { 'cf-ipcountry': 'FR' })
  t.match(noHeader, { ipAddress: '10.0.0.5', countryCode: null }, 'no forwarded address: nothing came through a proxy')
})

t.test('without TRUST_PROXY nothing forwarded is believed', async (t) => {
  const env = await createTestEnv(t, { config: { trustProxy: false } })
  const user = await createUser(env)
  const session = await signIn(env, user.email, '10.0.0.5', { 'x-forwarded-for': '203.0.113.20', ...CDN })
  t.match(session, { ipAddress: '10.0.0.5', countryCode: null, latitude: null, timezone: null })
})
