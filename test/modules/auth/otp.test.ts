import t from 'tap'
import { createTestEnv, keysMatching, testConfig } from '../../helpers/app.ts'
import { codeFrom, createUser, uniqueEmail } from '../../helpers/auth.ts'
import { ManualClock } from '../../../src/platform/clock.ts'

const send = (app: any, email: string, channel?: string) => app.inject({ method: 'POST', url: '/auth/otp/send', payload: { email, ...(channel ? { channel } : {}) } })
const verify = (app: any, email: string, code: string) => app.inject({ method: 'POST', url: '/auth/otp/verify', payload: { email, code } })

t.test('a 6-digit code signs in once', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const user = await createUser(env, { password: null })
  const sent = await send(env.app, user.email)
  t.equal(sent.statusCode, 202)
  t.same(sent.json(), { accepted: true })
  const mail = await env.smtp!.waitFor((m) => m.to.includes(user.email))
  const code = codeFrom(mail)
  t.match(code, /^\d{6}$/)
  t.notOk(JSON.stringify(await keysMatching(env.redis, `${env.config.redisPrefix}otp:*`)).includes(user.email), 'keys hold no email')

  const ok = await verify(env.app, user.email, code)
  t.equal(ok.statusCode, 200)
  t.equal(ok.json().user.id, user.id)
  t.equal(ok.json().session.isActive, true)
  const row = await env.app.db.selectFrom('sessions').select('authMethod').executeTakeFirstOrThrow()
  t.equal(row.authMethod, 'otp')

  const replay = await verify(env.app, user.email, code)
  t.equal(replay.statusCode, 401, 'single use')
  t.equal(replay.json().code, 'INVALID_CODE')
})

t.test('codes expire after 10 minutes', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { smtp: true, worker: true, clock })
  const user = await createUser(env)
  await send(env.app, user.email)
  const code = codeFrom(await env.smtp!.waitFor((m) => m.to.includes(user.email)))
  clock.advance(10 * 60_000 + 1)
  const late = await verify(env.app, user.email, code)
  t.equal(late.statusCode, 401)
  t.equal(late.json().code, 'INVALID_CODE')
})

t.test('five wrong attempts void the code; sends are one a minute', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const user = await createUser(env)
  await send(env.app, user.email)
  const code = codeFrom(await env.smtp!.waitFor((m) => m.to.includes(user.email)))
  const wrong = code === '000000' ? '111111' : '000000'
  for (let i = 0; i < 5; i++) t.equal((await verify(env.app, user.email, wrong)).statusCode, 401)
  t.equal((await verify(env.app, user.email, code)).statusCode, 401, 'the right code no longer works')

  t.equal((await send(env.app, user.email)).statusCode, 202, 'a second send within the minute is accepted')
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(env.smtp!.messages.filter((m) => m.to.includes(user.email)).length, 1, 'but sends nothing')
})

t.test('unknown emails get the same answer and no mail', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const ghost = uniqueEmail('ghost')
  const res = await send(env.app, ghost)
  t.equal(res.statusCode, 202)
  t.same(res.json(), { accepted: true })
  const bad = await verify(env.app, ghost, '123456')
  t.equal(bad.statusCode, 401)
  t.equal(bad.json().code, 'INVALID_CODE')
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(env.smtp!.messages.length, 0)
})

t.test('SMS: logged in development, refused in production', async (t) => {
  const env = await createTestEnv(t, { smtp: true })
  const user = await createUser(env, { phone: '+33 6 12 34 56 78' })
  t.equal((await send(env.app, user.email, 'sms')).statusCode, 202)

  const prod = await createTestEnv(t, { config: { ...testConfig(), env: 'production' } })
  const refused = await send(prod.app, user.email, 'sms')
  t.equal(refused.statusCode, 422)
  t.equal(refused.json().code, 'CHANNEL_UNAVAILABLE')
  t.equal(refused.json().errors[0].pointer, '/body/channel')
})
