import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { createTestEnv } from '../helpers/app.ts'
import { Conflict } from '../../src/platform/errors.ts'

async function routes (app: FastifyInstance) {
  app.post('/test/things', {
    schema: { body: Type.Object({ email: Type.String({ format: 'email' }), count: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }) }
  }, async () => ({ ok: true }))
  app.get('/test/count', { schema: { querystring: Type.Object({ n: Type.Integer() }) } }, async (request) => request.query)
  app.get('/test/conflict', async () => { throw Conflict('OUT_OF_STOCK', 'Only 2 left.') })
  app.get('/test/crash', async () => {
    throw new Error('select * from users where password = \'hunter2\' -- at /srv/app/secret.ts:12')
  })
}

function isProblem (t: Test, res: { headers: Record<string, unknown>, json: () => any }, status: number, code: string) {
  t.match(res.headers['content-type'], /^application\/problem\+json/, 'problem+json')
  const body = res.json()
  t.equal(body.status, status)
  t.equal(body.code, code)
  t.type(body.type, 'string')
  t.type(body.title, 'string')
  t.type(body.detail, 'string')
  t.equal(body.requestId, res.headers['x-request-id'], 'requestId matches the x-request-id header')
  return body
}

t.test('every error is problem+json with code and requestId', async (t) => {
  const { app } = await createTestEnv(t, { plugins: [routes] })

  const unknown = await app.inject({ method: 'GET', url: '/no/such/route' })
  t.equal(unknown.statusCode, 404)
  isProblem(t, unknown, 404, 'NOT_FOUND')

  const invalid = await app.inject({ method: 'POST', url: '/test/things', payload: { email: 'nope', count: 0 } })
  t.equal(invalid.statusCode, 400)
  const body = isProblem(t, invalid, 400, 'VALIDATION_FAILED')
  t.equal(body.errors[0].pointer, '/body/email', 'the field is named by JSON pointer')
  t.match(body.detail, 'body/email')

  const missing = await app.inject({ method: 'POST', url: '/test/things', payload: { email: 'a@b.co' } })
  t.equal(missing.json().errors[0].pointer, '/body/count')

  const extra = await app.inject({ method: 'POST', url: '/test/things', payload: { email: 'a@b.co', count: 1, role: 'admin' } })
  t.equal(extra.statusCode, 400)
  t.equal(extra.json().errors[0].pointer, '/body/role', 'an unknown field is named, not silently applied')

  // JSON bodies are typed: a string, boolean or array where an integer belongs is refused, not coerced.
  for (const count of ['2', true, [3], 1.5]) {
    const wrong = await app.inject({ method: 'POST', url: '/test/things', payload: { email: 'a@b.co', count } })
    t.equal(wrong.statusCode, 400, `count ${JSON.stringify(count)} is refused`)
    t.equal(wrong.json().errors[0].pointer, '/body/count')
  }
  const query = await app.inject({ method: 'GET', url: '/test/count?n=7' })
  t.same(query.json(), { n: 7 }, 'query strings, which are text, are still read as numbers')

  const malformed = await app.inject({ method: 'POST', url: '/test/things', headers: { 'content-type': 'application/json' }, payload: '{"email":' })
  t.equal(malformed.statusCode, 400)
  isProblem(t, malformed, 400, 'MALFORMED_BODY')

  const conflict = await app.inject({ method: 'GET', url: '/test/conflict' })
  t.equal(conflict.statusCode, 409)
  t.equal(isProblem(t, conflict, 409, 'OUT_OF_STOCK').detail, 'Only 2 left.')

  const crash = await app.inject({ method: 'GET', url: '/test/crash' })
  t.equal(crash.statusCode, 500)
  const hidden = isProblem(t, crash, 500, 'INTERNAL')
  t.notMatch(crash.body, /select|hunter2|secret\.ts|stack/i, 'no SQL, secret or stack leaks')
  t.equal(hidden.detail, 'An unexpected error occurred.')
})

t.test('request ids are taken from the request when sane, generated otherwise', async (t) => {
  const { app } = await createTestEnv(t)
  const given = await app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'lb-1234.abc' } })
  t.equal(given.headers['x-request-id'], 'lb-1234.abc')
  const generated = await app.inject({ method: 'GET', url: '/health/live' })
  t.match(generated.headers['x-request-id'], /^[0-9a-f]{12}-[0-9a-z]+$/)
  const next = await app.inject({ method: 'GET', url: '/health/live' })
  t.not(next.headers['x-request-id'], generated.headers['x-request-id'], 'each request gets its own')
  const hostile = await app.inject({ method: 'GET', url: '/health/live', headers: { 'x-request-id': 'x'.repeat(500) } })
  t.match(hostile.headers['x-request-id'], /^[0-9a-f]{12}-[0-9a-z]+$/, 'an oversized id is replaced')
})

t.test('security headers and CORS', async (t) => {
  const { app } = await createTestEnv(t, { config: { corsOrigins: ['https://shop.example'] } })
  const res = await app.inject({ method: 'GET', url: '/no/such/route', headers: { origin: 'https://shop.example' } })
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['x-frame-options'], 'DENY')
  t.match(res.headers['content-security-policy'], /default-src 'none'/)
  t.equal(res.headers['access-control-allow-origin'], 'https://shop.example')
  const foreign = await app.inject({ method: 'GET', url: '/no/such/route', headers: { origin: 'https://evil.example' } })
  t.equal(foreign.headers['access-control-allow-origin'], undefined, 'a foreign origin is not allowed')
})

t.test('rate limits hold in Redis and answer 429 with retry-after', async (t) => {
  const { app } = await createTestEnv(t, { config: { rateLimitMax: 3 } })
  const hit = () => app.inject({ method: 'GET', url: '/no/such/route', remoteAddress: '10.9.8.7' })
  for (let i = 0; i < 3; i++) t.equal((await hit()).statusCode, 404)
  const limited = await hit()
  t.equal(limited.statusCode, 429)
  t.ok(Number(limited.headers['retry-after']) > 0, 'retry-after is set')
  isProblem(t, limited, 429, 'RATE_LIMITED')
  const other = await app.inject({ method: 'GET', url: '/no/such/route', remoteAddress: '10.9.8.8' })
  t.equal(other.statusCode, 404, 'another client is not limited')
  t.equal((await app.inject({ method: 'GET', url: '/health/live', remoteAddress: '10.9.8.7' })).statusCode, 200, 'probes are never limited')
})

t.test('a path the router cannot decode is a 400 problem with the request id, like every other answer', async (t) => {
  const { app } = await createTestEnv(t)
  for (const url of ['/%', '/products/%zz', '/admin/queues/%zz', '/dev/mail/%E0%A4%A']) {
    const res = await app.inject({ method: 'GET', url, headers: { 'x-request-id': 'probe-bad-url-1' } })
    t.equal(res.statusCode, 400, url)
    t.match(res.headers['content-type'], /^application\/problem\+json/, `${url}: problem+json`)
    t.equal(res.headers['x-request-id'], 'probe-bad-url-1', `${url}: the request id header`)
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    t.equal(res.json().requestId, 'probe-bad-url-1')
  }
  t.equal((await app.inject({ method: 'GET', url: '/%zz' })).json().code, 'BAD_URL')
})
