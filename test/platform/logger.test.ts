import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import { buildApp } from '../../src/app.ts'
import { errorSerializer } from '../../src/platform/logger.ts'
import { createTestEnv } from '../helpers/app.ts'

t.test('logged errors keep what failed and drop the data they quote', async (t) => {
  const unique = Object.assign(new Error('duplicate key value violates unique constraint "users_email_key"'), {
    code: '23505', detail: 'Key (email)=(ada@example.test) already exists.', where: 'SQL statement', parameters: ['ada@example.test']
  })
  const smtp = Object.assign(new Error('email send failed: EENVELOPE'), {
    code: 'EENVELOPE', response: '550 <ada@example.test>: Recipient address rejected', rejected: ['ada@example.test'], envelope: { to: ['ada@example.test'] }
  })
  for (const err of [unique, smtp]) {
    const out = errorSerializer(err) as Record<string, unknown>
    t.equal(out.message, err.message, 'the message stays')
    t.equal(out.code, (err as unknown as { code: string }).code, 'and the code')
    t.match(out.stack, /Error/)
    t.notMatch(JSON.stringify(out), /ada@example\.test/, 'no quoted data')
  }
})

t.test('request log lines keep the path and query names, never query values', async (t) => {
  const env = await createTestEnv(t)
  let out = ''
  const stream = new Writable({ write (chunk, _enc, done) { out += chunk; done() } })
  const app = await buildApp(env.config, { logger: pino({ level: 'info', serializers: { err: errorSerializer } }, stream) })
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'GET', url: '/products?q=ada%40example.test&limit=5' })
  t.equal(res.statusCode, 200)
  await app.inject({ method: 'GET', url: '/no/such/route?email=ada@example.test' })
  t.match(out, /"url":"\/products\?q=…&limit=…"/, 'the path and parameter names')
  t.notMatch(out, /ada(@|%40)example/, 'no value')
})

t.test('a request logs one line at info, with its request id; probes and levels above info log none', async (t) => {
  const env = await createTestEnv(t)
  const appAt = async (level: string) => {
    const lines: Array<Record<string, unknown>> = []
    const stream = new Writable({ write (chunk, _enc, done) { lines.push(...String(chunk).trim().split('\n').map((l) => JSON.parse(l))); done() } })
    const app = await buildApp(env.config, { logger: pino({ level }, stream) })
    t.teardown(() => app.close())
    return { app, lines }
  }

  const info = await appAt('info')
  const res = await info.app.inject({ method: 'GET', url: '/categories', headers: { 'x-request-id': 'req-logged-1' } })
  t.equal(res.statusCode, 200)
  const completed = info.lines.filter((l) => l.msg === 'request completed')
  t.equal(completed.length, 1, 'one line for the request')
  t.match(completed[0], { requestId: 'req-logged-1', method: 'GET', url: '/categories', statusCode: 200 })
  t.equal(info.lines.filter((l) => l.msg === 'incoming request').length, 0, 'the incoming line is for debug only')
  info.lines.length = 0
  t.equal((await info.app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
  t.same(info.lines, [], 'a probe logs nothing')

  const warn = await appAt('warn')
  t.equal((await warn.app.inject({ method: 'GET', url: '/categories' })).statusCode, 200)
  t.same(warn.lines.filter((l) => l.msg === 'request completed'), [], 'nothing below the level')

  const debug = await appAt('debug')
  t.equal((await debug.app.inject({ method: 'GET', url: '/categories?limit=5' })).statusCode, 200)
  t.match(debug.lines.find((l) => l.msg === 'incoming request'), { method: 'GET', url: '/categories?limit=…' }, 'at debug, the incoming line too')
})
