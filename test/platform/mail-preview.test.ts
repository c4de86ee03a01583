import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config.ts'
import { createTestEnv, eventually } from '../helpers/app.ts'
import { createUser } from '../helpers/auth.ts'

// Issue 12, item 9: without SMTP_URL, development mail goes to files; /dev/mail lists them and
// renders each one. Development only: never in production, nor with SMTP, nor in tests unless
// a test turns it on.

const SECRETS = { JWT_SECRET: 'j'.repeat(40), ENCRYPTION_KEY: 'e'.repeat(40) }
const HTML = { accept: 'text/html,application/xhtml+xml' }
const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://u:p@db.internal:5432/bazaar',
  REDIS_URL: 'redis://cache.internal:6379',
  SMTP_URL: 'smtp://mail.internal:587',
  STRIPE_SECRET_KEY: 'sk_live_x',
  STRIPE_WEBHOOK_SECRET: 'whsec_x',
  PUBLIC_URL: 'https://api.example.org',
  JWT_SECRET: 'p'.repeat(40),
  ENCRYPTION_KEY: 'q'.repeat(40)
}

t.test('the mail page is on in development without SMTP only', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bazaar-mail-'))
  t.equal(loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir, ...SECRETS }).mailPreview, true, 'development, no SMTP_URL')
  t.equal(loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir, SMTP_URL: 'smtp://127.0.0.1:1025', ...SECRETS }).mailPreview, false, 'development with SMTP_URL')
  t.equal(loadConfig({ ...PRODUCTION, DATA_DIR: dataDir }).mailPreview, false, 'production')
  t.equal(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir }).mailPreview, false, 'tests')
})

t.test('absent unless enabled, and never in production even when the flag says otherwise', async (t) => {
  for (const config of [{}, { mailPreview: true, env: 'production' as const }]) {
    const env = await createTestEnv(t, { config })
    for (const url of ['/dev/mail', '/dev/mail/latest']) {
      const res = await env.app.inject({ method: 'GET', url, headers: HTML })
      t.equal(res.statusCode, 404, `${url} with ${JSON.stringify(config)}`)
      t.equal(res.json().code, 'NOT_FOUND')
    }
  }
})

t.test('lists the outbox and renders a message, sandboxed; curl gets plain text', async (t) => {
  const env = await createTestEnv(t, { config: { mailPreview: true }, worker: true })
  const empty = await env.app.inject({ method: 'GET', url: '/dev/mail' })
  t.equal(empty.statusCode, 200)
  t.match(empty.body, /^No messages in .* yet\.\n$/)

  const user = await createUser(env, { name: 'Mallory <b>Bold</b>' })
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: user.email } })).statusCode, 202)
  await eventually(() => readdirSync(env.config.mailDir).some((f) => f.endsWith('.eml')), 15000)
  const [file] = readdirSync(env.config.mailDir)
  const id = file!.replace(/\.eml$/, '')

  const page = await env.app.inject({ method: 'GET', url: '/dev/mail', headers: HTML })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.match(page.headers['content-security-policy'], /default-src 'none'/)
  t.notMatch(page.headers['content-security-policy'], /script-src/, 'no scripts at all')
  t.match(page.body, `href="/dev/mail/${id}"`)
  t.match(page.body, user.email, 'the recipient')
  t.match(page.body, /password/i, 'the subject')

  const message = await env.app.inject({ method: 'GET', url: `/dev/mail/${id}`, headers: HTML })
  t.equal(message.statusCode, 200)
  t.match(message.headers['content-type'], /^text\/html/)
  const csp = String(message.headers['content-security-policy'])
  t.match(csp, /(^|; )sandbox($|;)/, 'rendered in a sandbox')
  t.match(csp, /default-src 'none'/)
  t.match(message.body, /href="http:\/\/localhost:\d+\/reset-password\?token=/, 'the message\'s own HTML, links and all')
  t.notMatch(message.body, '<b>Bold</b>', 'names stay escaped')
  t.match(message.body, 'href="/dev/mail"', 'with a way back to the list')

  const listText = await env.app.inject({ method: 'GET', url: '/dev/mail' })
  t.match(listText.headers['content-type'], /^text\/plain/)
  t.match(listText.body, `${env.config.publicUrl}/dev/mail/${id}`)
  const latest = await env.app.inject({ method: 'GET', url: '/dev/mail/latest' })
  t.match(latest.headers['content-type'], /^text\/plain/)
  t.match(latest.body, `To: ${user.email}`)
  t.match(latest.body, /reset-password\?token=\S+/, 'the text part, for curl')

  t.equal((await env.app.inject({ method: 'GET', url: '/dev/mail/no-such-message' })).statusCode, 404)
  t.equal((await env.app.inject({ method: 'GET', url: '/dev/mail/..%2Fsecrets.json' })).statusCode, 400, 'only message ids')
  const remote = await env.app.inject({ method: 'GET', url: '/dev/mail', remoteAddress: '192.0.2.10', headers: { ...HTML, 'x-forwarded-for': '127.0.0.1' } })
  t.equal(remote.statusCode, 404, 'another machine finds nothing there, whatever it forwards')
  // From this machine, but for someone else: a page that rebinds its own name to 127.0.0.1
  // (its name in Host), a tunnel or dev proxy relaying a request (forwarding headers).
  for (const [headers, why] of [
    [{ host: 'attacker.example:3000' }, 'a rebound name'],
    [{ 'x-forwarded-for': '203.0.113.7' }, 'X-Forwarded-For'],
    [{ forwarded: 'for=203.0.113.7' }, 'Forwarded'],
    [{ 'x-forwarded-host': 'tunnel.example' }, 'X-Forwarded-Host']
  ] as const) {
    t.equal((await env.app.inject({ method: 'GET', url: '/dev/mail/latest', headers })).statusCode, 404, `refused: ${why}`)
  }
  for (const host of ['localhost:3000', '127.0.0.1:3000', '[::1]:3000']) {
    t.equal((await env.app.inject({ method: 'GET', url: '/dev/mail', headers: { host } })).statusCode, 200, `served for Host ${host}`)
  }

  const docs = (await env.app.inject({ method: 'GET', url: '/docs/json' })).json()
  t.notOk(Object.keys(docs.paths).some((p) => p.startsWith('/dev/')), 'hidden from the API document')
})
