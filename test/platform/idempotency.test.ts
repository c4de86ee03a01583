import t from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { createTestEnv, eventually, keysMatching } from '../helpers/app.ts'
import { startPrivateRedis } from '../helpers/redis-server.ts'

// Routes of the test's own, counting how often their handler really runs.
function countingRoutes (counter: { runs: number }) {
  return async (app: FastifyInstance) => {
    app.post('/test/charges', {
      schema: { body: Type.Object({ amount: Type.Integer({ minimum: 1 }) }) }
    }, async (request, reply) => {
      counter.runs++
      await new Promise((resolve) => setTimeout(resolve, 150))
      return reply.code(201).send({ run: counter.runs, amount: (request.body as { amount: number }).amount })
    })
    app.post('/test/required', { config: { idempotency: 'required' } }, async () => ({ ok: true }))
    app.post('/test/flaky', async () => {
      counter.runs++
      if (counter.runs === 1) throw new Error('boom')
      return { ok: true }
    })
  }
}

t.test('same key and body replays the first response; the handler runs once', async (t) => {
  const counter = { runs: 0 }
  const { app } = await createTestEnv(t, { plugins: [countingRoutes(counter)] })
  const send = (amount: number, key = 'key-1') => app.inject({ method: 'POST', url: '/test/charges', headers: { 'idempotency-key': key }, payload: { amount } })

  const first = await send(500)
  t.equal(first.statusCode, 201)
  const again = await send(500)
  t.equal(again.statusCode, 201, 'same status')
  t.equal(again.body, first.body, 'same body')
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal(counter.runs, 1, 'the handler ran once')

  const other = await send(700)
  t.equal(other.statusCode, 422)
  t.equal(other.json().code, 'IDEMPOTENCY_KEY_REUSED')
  t.equal(counter.runs, 1, 'a different body does no work')

  const fresh = await send(700, 'key-2')
  t.equal(fresh.statusCode, 201)
  t.equal(counter.runs, 2, 'another key is another request')

  const noKey = await app.inject({ method: 'POST', url: '/test/charges', payload: { amount: 1 } })
  t.equal(noKey.statusCode, 201, 'the key is optional by default')
})

t.test('concurrent duplicates execute once; the others are told it is in progress', async (t) => {
  const counter = { runs: 0 }
  const { app } = await createTestEnv(t, { plugins: [countingRoutes(counter)] })
  const responses = await Promise.all(Array.from({ length: 10 }, () =>
    app.inject({ method: 'POST', url: '/test/charges', headers: { 'idempotency-key': 'burst' }, payload: { amount: 9 } })))
  t.equal(counter.runs, 1, 'one execution')
  t.equal(responses.filter((r) => r.statusCode === 201).length, 1)
  const conflicts = responses.filter((r) => r.statusCode === 409)
  t.equal(conflicts.length, 9)
  t.equal(conflicts[0]!.json().code, 'IDEMPOTENCY_IN_PROGRESS')
  const later = await app.inject({ method: 'POST', url: '/test/charges', headers: { 'idempotency-key': 'burst' }, payload: { amount: 9 } })
  t.equal(later.statusCode, 201, 'once finished, the retry gets the stored response')
  t.equal(counter.runs, 1)
})

t.test('a required key is demanded; a 5xx releases the key for a real retry', async (t) => {
  const counter = { runs: 0 }
  const { app } = await createTestEnv(t, { plugins: [countingRoutes(counter)] })
  const missing = await app.inject({ method: 'POST', url: '/test/required' })
  t.equal(missing.statusCode, 400)
  t.equal(missing.json().code, 'VALIDATION_FAILED')
  t.equal(missing.json().errors[0].pointer, '/headers/idempotency-key')

  const failed = await app.inject({ method: 'POST', url: '/test/flaky', headers: { 'idempotency-key': 'k' } })
  t.equal(failed.statusCode, 500)
  const retried = await app.inject({ method: 'POST', url: '/test/flaky', headers: { 'idempotency-key': 'k' } })
  t.equal(retried.statusCode, 200)
  t.equal(counter.runs, 2)
})

t.test('keys are scoped to the caller', async (t) => {
  const counter = { runs: 0 }
  const { app } = await createTestEnv(t, { plugins: [countingRoutes(counter)] })
  const from = (ip: string) => app.inject({ method: 'POST', url: '/test/charges', remoteAddress: ip, headers: { 'idempotency-key': 'shared' }, payload: { amount: 3 } })
  t.equal((await from('10.0.0.1')).statusCode, 201)
  t.equal((await from('10.0.0.2')).statusCode, 201)
  t.equal(counter.runs, 2, 'two callers with one key are two requests')
})

t.test('when storing the response fails after the work is done, a retry promptly gets the stored answer, never a second run', async (t) => {
  // A private Redis, so pausing its writes disturbs no other test file.
  const redis = await startPrivateRedis()
  t.teardown(() => redis.close())
  const admin = new Redis(redis.url)
  admin.on('error', () => {})
  t.teardown(() => admin.disconnect())
  const counter = { runs: 0 }
  const { app } = await createTestEnv(t, {
    config: { redisUrl: redis.url },
    plugins: [async (instance: FastifyInstance) => {
      instance.post('/test/commit-then-store-fails', async (_request, reply) => {
        counter.runs++
        // The work is done; Redis stops taking writes for longer than a command may wait.
        await admin.call('CLIENT', 'PAUSE', '2600', 'WRITE')
        return reply.code(201).send({ run: counter.runs })
      })
    }]
  })
  const send = () => app.inject({ method: 'POST', url: '/test/commit-then-store-fails', headers: { 'idempotency-key': 'lost-store' }, payload: {} })

  const first = await send()
  t.equal(first.statusCode, 201, 'the client still gets the real answer')
  t.same(first.json(), { run: 1 })

  const answers: number[] = []
  const started = Date.now()
  const replay = (await eventually(async () => {
    const res = await send()
    answers.push(res.statusCode)
    return res.statusCode === 201 ? res : null
  }, 5000, 100))!
  t.ok(Date.now() - started < 5000, `answered within seconds (${Date.now() - started} ms)`)
  t.equal(replay.headers['idempotent-replayed'], 'true', 'the stored answer')
  t.same(replay.json(), { run: 1 })
  t.equal(counter.runs, 1, 'the work ran once')
  t.ok(answers.every((s) => s === 201 || s === 409 || s === 503), `meanwhile only prompt answers (${[...new Set(answers)].join(', ')})`)
})

t.test('what Redis keeps for a key identifies the request by a keyed hash: a guessed body cannot be confirmed', async (t) => {
  const { createHash } = await import('node:crypto')
  const counter = { runs: 0 }
  const env = await createTestEnv(t, { plugins: [countingRoutes(counter)] })
  t.equal((await env.app.inject({ method: 'POST', url: '/test/charges', headers: { 'idempotency-key': 'guess-1' }, payload: { amount: 4242 } })).statusCode, 201)
  // Bodies carry addresses, names and phone numbers: a plain hash of one is confirmed by
  // hashing a guess.
  const guess = createHash('sha256').update(`POST /test/charges\n${JSON.stringify({ amount: 4242 })}`).digest('hex')
  const keys = await keysMatching(env.redis, `${env.config.redisPrefix}idem:*`)
  t.equal(keys.length, 1)
  const stored = await env.redis.get(keys[0]!)
  t.notOk(stored!.includes(guess), 'the plain hash of the request is not stored')
  const replay = await env.app.inject({ method: 'POST', url: '/test/charges', headers: { 'idempotency-key': 'guess-1' }, payload: { amount: 4242 } })
  t.equal(replay.headers['idempotent-replayed'], 'true', 'and replay still recognises the request')
  t.equal(counter.runs, 1)
})

t.test('when releasing the key after a 5xx fails, the key is not left "in progress" for minutes', async (t) => {
  // A private Redis, so pausing its writes disturbs no other test file.
  const redis = await startPrivateRedis()
  t.teardown(() => redis.close())
  const admin = new Redis(redis.url)
  admin.on('error', () => {})
  t.teardown(() => admin.disconnect())
  const counter = { runs: 0 }
  const { app } = await createTestEnv(t, {
    config: { redisUrl: redis.url },
    plugins: [async (instance: FastifyInstance) => {
      instance.post('/test/fails-then-release-fails', async () => {
        counter.runs++
        if (counter.runs > 1) return { run: counter.runs }
        // The request fails, and Redis refuses the release for a moment (as it would a
        // connection lost mid-restart: with persistence, the claim outlives the restart).
        await admin.call('ACL', 'SETUSER', 'default', '-del', '-unlink')
        setTimeout(() => { admin.call('ACL', 'SETUSER', 'default', '+del', '+unlink').catch(() => {}) }, 1000)
        throw new Error('boom')
      })
    }]
  })
  const send = () => app.inject({ method: 'POST', url: '/test/fails-then-release-fails', headers: { 'idempotency-key': 'lost-release' }, payload: {} })

  t.equal((await send()).statusCode, 500)
  const answers: number[] = []
  const started = Date.now()
  const retried = (await eventually(async () => {
    const res = await send()
    answers.push(res.statusCode)
    return res.statusCode === 200 ? res : null
  }, 6000, 100).catch(() => null))
  t.ok(retried, `a retry runs for real within seconds (answers meanwhile: ${[...new Set(answers)].join(', ')}, ${Date.now() - started} ms)`)
  t.equal(counter.runs, 2, 'the work ran again once')
})
