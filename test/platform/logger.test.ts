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
