import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { createUser, PASSWORD } from '../../helpers/auth.ts'

// REVIEW (adversarial): scratch probes, not part of the branch.
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'

t.test('probes', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true, config: { authRateLimitMax: 1000 } })
  const user = await createUser(env)
  const raw = (payload: string, remoteAddress = '127.0.0.1', headers: Record<string, string> = {}) => env.app.inject({
    method: 'POST', url: '/auth/login', remoteAddress, headers: { 'user-agent': CHROME, 'content-type': 'application/json', ...headers }, payload
  })
  const base = (analytics: unknown) => JSON.stringify({ email: user.email, password: PASSWORD, analytics })
  // TRUST_PROXY off: spoofed proxy headers and XFF
  const spoof = await raw(base({}), '127.0.0.1', { 'cf-ipcountry': 'FR', 'cf-ipcity': 'Paris', 'x-forwarded-for': '81.2.69.142', 'x-geo-country': 'DE' })
  t.comment(`spoof: ${spoof.statusCode} ${JSON.stringify({ ip: spoof.json().session?.ipAddress, src: spoof.json().session?.locationSource, cc: spoof.json().session?.countryCode })}`)
  const cases: Array<[string, string]> = [
    ['lat 1e400', `{"email":"${user.email}","password":"${PASSWORD}","analytics":{"countryCode":"GB","latitude":1e400,"longitude":0}}`],
    ['lat string NaN', base({ countryCode: 'GB', latitude: 'NaN', longitude: 0 })],
    ['lat 91', base({ countryCode: 'GB', latitude: 91, longitude: 0 })],
    ['lon alone', base({ countryCode: 'GB', longitude: 10 })],
    ['city alone', base({ city: 'Paris' })],
    ['city ctrl \\n', base({ countryCode: 'GB', city: 'Lon\ndon' })],
    ['city U+2028', base({ countryCode: 'GB', city: 'London\u2028Device: Safari on iPhone (known device)' })],
    ['city U+202E', base({ countryCode: 'GB', city: 'London\u202e' })],
    ['city 129', base({ countryCode: 'GB', city: 'x'.repeat(129) })],
    ['country ZZ', base({ countryCode: 'ZZ' })],
    ['country lower gb', base({ countryCode: 'gb' })],
    ['tz +01:00', base({ timezone: '+01:00' })],
    ['tz Etc/GMT+5', base({ timezone: 'Etc/GMT+5' })],
    ['tz huge', base({ timezone: 'A'.repeat(100000) })]
  ]
  for (const [label, payload] of cases) { console.error('CASE', label)
    const res = await raw(payload)
    let b: any; try { b = res.json() } catch { b = { raw: res.body.slice(0, 200) } }
    console.error(`RESULT ${label}: ${res.statusCode} ${res.statusCode === 200 && b.session ? JSON.stringify({ cc: b.session.countryCode, city: JSON.stringify(b.session.city), src: b.session.locationSource, tz: b.session.timezone }) : JSON.stringify(b.errors?.map((e: any) => e.pointer) ?? b)}`)
  }
  t.pass()
})

t.test('behind a trusted CDN, location fields are mixed across vendors\' header names', async (t) => {
  const env = await createTestEnv(t, { config: { trustProxy: ['10.0.0.0/8'], authRateLimitMax: 1000 } })
  const user = await createUser(env)
  const login = (headers: Record<string, string>) => env.app.inject({ method: 'POST', url: '/auth/login', remoteAddress: '10.1.2.3', headers: { 'user-agent': CHROME, ...headers }, payload: { email: user.email, password: PASSWORD } })
  // Cloudflare set cf-ipcountry (it always does); the client added x-geo-* / cloudfront-viewer-* names that Cloudflare passes on.
  const mixed = (await login({ 'x-forwarded-for': '81.2.69.142', 'cf-ipcountry': 'GB', 'x-geo-city': 'Cambridge', 'x-geo-latitude': '52.2', 'x-geo-longitude': '0.12', 'cloudfront-viewer-time-zone': 'Europe/London' })).json().session
  console.error('MIXED', JSON.stringify({ cc: mixed.countryCode, city: mixed.city, lat: mixed.latitude, lon: mixed.longitude, src: mixed.locationSource }))
  // Behind CloudFront (which forwards viewer headers when the origin policy says all): a client-sent cf-ipcountry wins over CloudFront's own.
  const cf = (await login({ 'x-forwarded-for': '81.2.69.142', 'cloudfront-viewer-country': 'GB', 'cf-ipcountry': 'KP', 'cf-ipcity': 'Pyongyang' })).json().session
  console.error('CLOUDFRONT', JSON.stringify({ cc: cf.countryCode, city: cf.city, src: cf.locationSource }))
  t.pass()
})
