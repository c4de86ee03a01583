import t from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { createTestEnv } from '../helpers/app.ts'

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
