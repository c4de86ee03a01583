import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig, type Config } from '../../src/config.ts'
import { listenerUrl } from '../../src/config-checks.ts'
import { createTestEnv } from '../helpers/app.ts'
import { cookiesOf, createUser, PASSWORD } from '../helpers/auth.ts'
import { runningBanner } from '../../scripts/lib/start-banner.ts'

// Issue 12, item 3: one origin. With a non-default PORT and no PUBLIC_URL, the printed URLs,
// Swagger's server and the CORS/CSRF allow-list are all http://localhost:PORT; email links lead
// to APP_URL (default PUBLIC_URL), whose origin may call the API too.

const SECRETS = { JWT_SECRET: 'j'.repeat(40), ENCRYPTION_KEY: 'e'.repeat(40) }
const devConfig = (env: Record<string, string> = {}): Config =>
  loadConfig({ NODE_ENV: 'development', DATA_DIR: mkdtempSync(join(tmpdir(), 'bazaar-origins-')), ...SECRETS, ...env })

/** The origin settings of `config`, for a test app (its other settings stay the test's). */
const originsOf = (config: Config): Partial<Config> =>
  ({ host: config.host, port: config.port, publicUrl: config.publicUrl, appUrl: config.appUrl, corsOrigins: config.corsOrigins })

const preflight = (origin: string) => ({
  method: 'OPTIONS' as const, url: '/cart/items', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }
})

t.test('PUBLIC_URL follows HOST and PORT unless set; APP_URL defaults to it', async (t) => {
  const config = devConfig({ PORT: '4200' })
  t.equal(config.publicUrl, 'http://localhost:4200')
  t.equal(config.appUrl, 'http://localhost:4200')
  t.same(config.corsOrigins, ['http://localhost:4200'])
  t.equal(devConfig().publicUrl, 'http://localhost:3000', 'the default port')

  for (const [host, url] of [['127.0.0.1', 'http://localhost:4200'], ['0.0.0.0', 'http://localhost:4200'], ['::', 'http://localhost:4200'],
    ['::1', 'http://localhost:4200'], ['localhost', 'http://localhost:4200'], ['10.1.2.3', 'http://10.1.2.3:4200'], ['fd00::7', 'http://[fd00::7]:4200']]) {
    t.equal(devConfig({ HOST: host!, PORT: '4200' }).publicUrl, url, `HOST=${host}`)
  }
  t.equal(listenerUrl('127.0.0.1', 80), 'http://localhost', 'no :80')

  const set = devConfig({ PORT: '4200', PUBLIC_URL: 'https://api.example.com/', APP_URL: 'https://shop.example.com/' })
  t.equal(set.publicUrl, 'https://api.example.com', 'PUBLIC_URL as set, without its trailing slash')
  t.equal(set.appUrl, 'https://shop.example.com')
  t.same(set.corsOrigins, ['https://api.example.com'], 'CORS_ORIGINS defaults to PUBLIC_URL\'s origin')
  t.same(devConfig({ CORS_ORIGINS: 'https://a.example, https://b.example' }).corsOrigins, ['https://a.example', 'https://b.example'])
  t.throws(() => devConfig({ APP_URL: 'shop.example.com' }), { message: /^Invalid environment: APP_URL must be a URL starting with http:\/\/ or https:\/\// })
})

t.test('the printed URLs are PUBLIC_URL\'s, the listen address is added when PUBLIC_URL is another', async (t) => {
  const config = devConfig({ PORT: '4200' })
  const lines = runningBanner(config)
  t.match(lines.join('\n'), 'API           http://localhost:4200\n')
  t.match(lines.join('\n'), 'API docs      http://localhost:4200/docs\n')
  t.match(lines.join('\n'), `Mail outbox   http://localhost:4200/dev/mail (files in ${config.mailDir})`)
  t.match(lines.join('\n'), 'Admin         http://localhost:4200/admin ')
  t.notMatch(lines.join('\n'), 'Listening on', 'PUBLIC_URL is the listener')

  const proxied = runningBanner(devConfig({ PORT: '4200', PUBLIC_URL: 'https://api.example.com' }))
  t.match(proxied.join('\n'), 'API docs      https://api.example.com/docs')
  t.match(proxied.join('\n'), 'Listening on  http://127.0.0.1:4200')
  t.match(proxied.join('\n'), 'Mail outbox   http://localhost:4200/dev/mail', 'the mail page by the loopback name it answers to')
  const elsewhere = devConfig({ PORT: '4200', HOST: '192.0.2.2' })
  t.match(runningBanner(elsewhere).join('\n'), `Mail outbox   ${elsewhere.mailDir}\n`, 'not listening on loopback: the folder, not a URL that would answer 404')
  t.match(runningBanner(devConfig({ SMTP_URL: 'smtp://mail.example.com:2525' })).join('\n'), 'Mail outbox   sent through mail.example.com:2525')
})

t.test('with PORT=4200, Swagger\'s server, CORS and the CSRF check all use http://localhost:4200', async (t) => {
  const config = devConfig({ PORT: '4200' })
  const env = await createTestEnv(t, { config: originsOf(config) })
  const docs = (await env.app.inject({ method: 'GET', url: '/docs/json' })).json()
  t.same(docs.servers, [{ url: 'http://localhost:4200' }], 'Swagger\'s server: the printed /docs URL\'s origin')
  const page = await env.app.inject({ method: 'GET', url: '/docs/static/index.html' })
  const csp = String(page.headers['content-security-policy'])
  t.match(csp, /default-src 'self'/, '"Try it out" may call its own origin')
  t.notMatch(csp, /upgrade-insecure-requests/, 'and is not upgraded to https:// where nothing listens')

  const allowed = await env.app.inject(preflight('http://localhost:4200'))
  t.equal(allowed.statusCode, 204)
  t.equal(allowed.headers['access-control-allow-origin'], 'http://localhost:4200')
  t.equal(allowed.headers['access-control-allow-credentials'], 'true')
  const old = await env.app.inject(preflight('http://localhost:3000'))
  t.equal(old.headers['access-control-allow-origin'], undefined, 'the old default origin is not allowed')

  const user = await createUser(env)
  const signIn = await env.app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: PASSWORD, mode: 'cookie' } })
  const cookies = cookiesOf(signIn)
  const jar = `refresh_token=${cookies.refresh_token!.value}; csrf_token=${cookies.csrf_token!.value}`
  const refused = await env.app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: jar, origin: 'http://localhost:3000' } })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'CSRF_FAILED', 'a cookie request from :3000 is cross-site now')
  const refreshed = await env.app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: jar, origin: 'http://localhost:4200' } })
  t.equal(refreshed.statusCode, 200, 'from the API\'s own origin it passes')
})

t.test('email links open APP_URL, whose origin may call the API with credentials', async (t) => {
  const config = devConfig({ PORT: '4200', APP_URL: 'http://localhost:5173/shop/' })
  t.equal(config.appUrl, 'http://localhost:5173/shop')
  const env = await createTestEnv(t, { smtp: true, worker: true, config: originsOf(config) })
  const user = await createUser(env)
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: user.email } })).statusCode, 202)
  const mail = await env.smtp!.waitFor((m) => m.to.includes(user.email) && /reset/i.test(m.subject))
  const links = [...mail.text.matchAll(/https?:\/\/\S+/g)].map((m) => m[0])
  t.ok(links.length > 0, 'the mail has a link')
  for (const link of links) t.match(link, /^http:\/\/localhost:5173\/shop\/reset-password\?token=/, 'the link opens the front end\'s reset page')
  t.ok(mail.html.includes('href="http://localhost:5173/shop/reset-password?token='), 'in the HTML part too')

  const fromApp = await env.app.inject(preflight('http://localhost:5173'))
  t.equal(fromApp.headers['access-control-allow-origin'], 'http://localhost:5173', 'the front end\'s origin is allowed')
  const fromApi = await env.app.inject(preflight('http://localhost:4200'))
  t.equal(fromApi.headers['access-control-allow-origin'], 'http://localhost:4200', 'and the API\'s own')
  const docs = (await env.app.inject({ method: 'GET', url: '/docs/json' })).json()
  t.same(docs.servers, [{ url: 'http://localhost:4200' }], 'the API\'s documents stay on PUBLIC_URL')
})
