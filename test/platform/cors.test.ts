import t from 'tap'
import { createTestEnv } from '../helpers/app.ts'

// Browser apps on an allowed origin call every route, so the preflight must allow every method
// the API uses, with the headers they send and credentials (cookie mode).

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']

t.test('the CORS preflight allows every method for an allowed origin, and nothing for others', async (t) => {
  const { app } = await createTestEnv(t, { config: { corsOrigins: ['https://shop.example'] } })
  for (const [url, method] of [['/users/me', 'PATCH'], ['/sessions/0190c0c0-0000-7000-8000-000000000000', 'DELETE'], ['/workspaces/0190c0c0-0000-7000-8000-000000000000/logo', 'PUT'], ['/orders', 'POST'], ['/products', 'GET'], ['/products', 'HEAD']] as const) {
    const res = await app.inject({
      method: 'OPTIONS',
      url,
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': method,
        'access-control-request-headers': 'authorization, content-type, idempotency-key, x-csrf-token'
      }
    })
    t.equal(res.statusCode, 204, `${method} ${url}: preflight answered`)
    t.equal(res.headers['access-control-allow-origin'], 'https://shop.example')
    t.equal(res.headers['access-control-allow-credentials'], 'true')
    const allowed = String(res.headers['access-control-allow-methods']).split(',').map((m) => m.trim())
    t.same([...allowed].sort(), [...METHODS].sort(), 'all six methods are allowed')
    t.match(String(res.headers['access-control-allow-headers']).toLowerCase(), /authorization.*content-type.*idempotency-key.*x-csrf-token/)
  }

  const foreign = await app.inject({
    method: 'OPTIONS', url: '/users/me', headers: { origin: 'https://evil.example', 'access-control-request-method': 'PATCH' }
  })
  t.equal(foreign.headers['access-control-allow-origin'], undefined, 'a foreign origin gets no allowance')
  for (const method of ['PUT', 'PATCH', 'DELETE']) {
    for (const origin of ['https://evil.example', 'null', 'https://shop.example.evil.example']) {
      const res = await app.inject({ method: 'OPTIONS', url: '/cart', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization' } })
      t.notOk(Object.keys(res.headers).some((h) => h.startsWith('access-control-')), `${method} from ${origin}: no CORS header at all (${res.statusCode})`)
    }
  }
  const simple = await app.inject({ method: 'GET', url: '/products', headers: { origin: 'https://evil.example' } })
  t.equal(simple.statusCode, 200, 'a foreign origin\'s simple request is still answered (the browser withholds it)')
  t.notOk(Object.keys(simple.headers).some((h) => h.startsWith('access-control-')), 'without CORS headers')
  const allowed = await app.inject({ method: 'GET', url: '/products', headers: { origin: 'https://shop.example' } })
  t.equal(allowed.headers['access-control-allow-origin'], 'https://shop.example')
  t.match(String(allowed.headers.vary), /origin/i, 'responses vary by Origin')
  // A front end reads every header the API documents: the request id, Retry-After, replays,
  // a created resource's Location and a catalog read's ETag.
  const exposed = String(allowed.headers['access-control-expose-headers']).split(',').map((h) => h.trim().toLowerCase())
  t.same([...exposed].sort(), ['etag', 'idempotent-replayed', 'location', 'retry-after', 'x-request-id'])
})
