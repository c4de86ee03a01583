import t from 'tap'
import { createTestEnv } from '../helpers/app.ts'
import { bearer, createUser, login } from '../helpers/auth.ts'

// The /admin page's HTTP side: one HTML document whose code all comes from this origin under a
// strict CSP, its assets revalidated by ETag, and the queue dashboard's refusals as pages for
// browsers. The sign-in itself runs in a real browser: test/browser/admin.test.ts.

t.test('/admin is an HTML page without inline code, under a strict CSP, naming PUBLIC_URL and the token lifetime', async (t) => {
  const { app } = await createTestEnv(t, { config: { publicUrl: 'https://api.example.test/', accessTokenTtl: 600 } })
  const res = await app.inject({ method: 'GET', url: '/admin' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], 'text/html')
  const csp = String(res.headers['content-security-policy'])
  t.match(csp, "default-src 'none'")
  t.match(csp, "script-src 'self';")
  t.match(csp, "style-src 'self';")
  t.match(csp, "frame-ancestors 'none'")
  t.notMatch(csp, 'unsafe')
  t.equal(res.headers['x-frame-options'], 'DENY')
  t.match(res.body, 'data-public-origin="https://api.example.test"')
  t.match(res.body, 'data-access-ttl="600"')
  t.notMatch(res.body, /<script(?![^>]*\ssrc=)/, 'every script has a src')
  t.notMatch(res.body, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or event handler')
  const scripts = [...res.body.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1])
  t.same(scripts.map((src) => src!.split('?')[0]), ['/admin/assets/admin.js'])
})

t.test('the script and stylesheet are revalidated by ETag', async (t) => {
  const { app } = await createTestEnv(t)
  for (const [url, type] of [['/admin/assets/admin.js', 'text/javascript'], ['/admin/assets/admin.css', 'text/css']] as const) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200, url)
    t.match(res.headers['content-type'], type)
    t.equal(res.headers['cache-control'], 'no-cache')
    const etag = String(res.headers.etag)
    t.match(etag, /^"[\w-]{16}"$/)
    const again = await app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } })
    t.equal(again.statusCode, 304, `${url} unchanged`)
    t.equal(again.body, '')
  }
  const script = await app.inject({ method: 'GET', url: '/admin/assets/admin.js' })
  t.doesNotThrow(() => new Function(script.body), 'the script parses') // eslint-disable-line no-new-func
})

t.test('the queue dashboard refuses a browser with a page of its own, and may be framed by its own origin only', async (t) => {
  const env = await createTestEnv(t)
  const customer = await login(env.app, (await createUser(env)).email)
  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  const html = { accept: 'text/html,application/xhtml+xml' }

  const anonymous = await env.app.inject({ method: 'GET', url: '/admin/queues', headers: html })
  t.equal(anonymous.statusCode, 401)
  t.match(anonymous.headers['content-type'], 'text/html')
  t.match(anonymous.body, 'data-status="401"')
  t.match(anonymous.body, 'You are not signed in, or your sign-in has ended.')
  t.match(anonymous.body, '<a href="/admin" target="_top">')

  const refused = await env.app.inject({ method: 'GET', url: '/admin/queues', headers: { ...html, ...bearer(customer.accessToken) } })
  t.equal(refused.statusCode, 403)
  t.match(refused.body, 'not a platform admin')

  const api = await env.app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: bearer(customer.accessToken) })
  t.equal(api.statusCode, 403, 'other callers still get problem+json')
  t.match(api.headers['content-type'], 'application/problem+json')

  const page = await env.app.inject({ method: 'GET', url: '/admin/queues', headers: { ...html, ...bearer(admin.accessToken) } })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-security-policy'], "frame-ancestors 'self'")
  t.equal(page.headers['x-frame-options'], 'SAMEORIGIN')
})
