import t from 'tap'
import { createTestEnv, eventually, keysMatching, testConfig, type Tap, type TestEnv } from '../../helpers/app.ts'
import { bearer, createUser, login, uniqueEmail } from '../../helpers/auth.ts'
import { codeFromSms, startTwilioDouble, type TwilioDouble } from '../../helpers/twilio-double.ts'

// Codes by SMS end to end: the API queues the text, the real worker sends it to a local double
// of Twilio's Messages API, and the test reads the code from what the double received.

const PHONE = '+33612345678'

async function smsEnv (t: Tap, options: { authRateLimitMax?: number } = {}): Promise<{ env: TestEnv, twilio: TwilioDouble }> {
  const twilio = await startTwilioDouble()
  t.teardown(() => twilio.close())
  const env = await createTestEnv(t, { smtp: true, worker: true, config: { ...twilio.config(), ...(options.authRateLimitMax ? { authRateLimitMax: options.authRateLimitMax } : {}) } })
  return { env, twilio }
}

const post = (env: TestEnv, url: string, payload: unknown, extra: { headers?: Record<string, string>, remoteAddress?: string } = {}) =>
  env.app.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, ...extra })
/** Long enough for the worker to have sent anything queued. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 700))

t.test('a sign-up verified by SMS: the code goes to the phone, and completing it verifies the phone', async (t) => {
  const { env, twilio } = await smsEnv(t)
  const email = uniqueEmail('sms-signup')
  const started = await post(env, '/auth/signup', { email, name: 'Grace Hopper', phone: PHONE, verifyBy: 'sms' })
  t.equal(started.statusCode, 202)
  const sms = await twilio.waitFor((m) => m.to === PHONE)
  t.equal(sms.from, twilio.from, 'sent from the configured number')
  const code = codeFromSms(sms)
  t.match(sms.body, /sign-up code/)
  t.notOk(JSON.stringify(await keysMatching(env.redis, `${env.config.queuePrefix}:sms:*`)).includes(PHONE.slice(1)), 'the queued job holds no phone number')
  await settle()
  t.equal(env.smtp!.messages.filter((m) => m.to.includes(email)).length, 0, 'no code by email')

  const done = await post(env, '/auth/signup/verify', { signupId: started.json().signupId, code })
  t.equal(done.statusCode, 201)
  t.equal(done.json().user.email, email)
  t.equal(done.json().user.phone, PHONE)
  t.ok(done.json().user.phoneVerifiedAt, 'the phone is verified')
  const row = await env.app.db.selectFrom('users').select(['phone', 'phoneVerifiedAt']).where('email', '=', email).executeTakeFirstOrThrow()
  t.equal(row.phone, PHONE)
  t.type(row.phoneVerifiedAt, Date)

  // And that phone now signs in by code.
  t.equal((await post(env, '/auth/otp/send', { phone: PHONE })).statusCode, 202)
  const signin = await twilio.waitFor((m) => m.to === PHONE && /sign-in code/.test(m.body))
  const ok = await post(env, '/auth/otp/verify', { phone: PHONE, code: codeFromSms(signin) })
  t.equal(ok.statusCode, 200)
  t.equal(ok.json().user.email, email)
})

t.test('an email sign-up keeps the phone unverified; an SMS sign-up of a registered email gets a code that never works', async (t) => {
  const { env, twilio } = await smsEnv(t)
  const byEmail = await post(env, '/auth/signup', { email: uniqueEmail('by-email'), name: 'Ada', phone: '+33698765432' })
  t.equal(byEmail.statusCode, 202)

  const existing = await createUser(env)
  const res = await post(env, '/auth/signup', { email: existing.email, name: 'Impostor', phone: PHONE, verifyBy: 'sms' })
  t.equal(res.statusCode, 202, 'the same answer as for a new email')
  const decoy = await twilio.waitFor((m) => m.to === PHONE)
  t.match(decoy.body, /sign-up code is \d{6}/, 'the phone gets a text of the same shape')
  await env.smtp!.waitFor((m) => m.to.includes(existing.email) && /already/i.test(m.subject + m.text))
  const wrong = await post(env, '/auth/signup/verify', { signupId: res.json().signupId, code: codeFromSms(decoy) })
  t.equal(wrong.statusCode, 400)
  t.equal(wrong.json().code, 'INVALID_CODE')
  t.equal(twilio.messages.filter((m) => m.to === '+33698765432').length, 0, 'an email sign-up texts nobody')
})

t.test('sign-in codes by phone: only to an active account\'s verified phone, once, and the same answer for any other number', async (t) => {
  const { env, twilio } = await smsEnv(t)
  const user = await createUser(env, { phone: PHONE, phoneVerifiedAt: new Date(), password: null })
  await createUser(env, { phone: '+33698765432' }) // unverified
  await createUser(env, { phone: '+33611111111', phoneVerifiedAt: new Date(), status: 'suspended' })

  const answers = []
  for (const phone of [PHONE, '+33698765432', '+33611111111', '+33622222222']) {
    const res = await post(env, '/auth/otp/send', { phone })
    answers.push({ status: res.statusCode, body: res.json() })
  }
  t.same(answers, Array(4).fill({ status: 202, body: { accepted: true } }), 'known, unverified, suspended and unknown phones: one answer')
  const sms = await twilio.waitFor((m) => m.to === PHONE)
  await settle()
  t.same(twilio.messages.map((m) => m.to), [PHONE], 'and a text only to the verified phone')

  // The double checked the Basic auth and the form; the request carried exactly what Twilio expects.
  const request = twilio.requests.find((r) => r.status === 201)!
  t.equal(request.path, `/2010-04-01/Accounts/${twilio.accountSid}/Messages.json`)
  t.same(Object.keys(request.form).sort(), ['Body', 'From', 'To'])

  const code = codeFromSms(sms)
  const ok = await post(env, '/auth/otp/verify', { phone: PHONE, code })
  t.equal(ok.statusCode, 200)
  t.equal(ok.json().user.id, user.id)
  const session = await env.app.db.selectFrom('sessions').select('authMethod').executeTakeFirstOrThrow()
  t.equal(session.authMethod, 'otp')
  const replay = await post(env, '/auth/otp/verify', { phone: PHONE, code })
  t.equal(replay.statusCode, 401, 'single use')
  t.equal(replay.json().code, 'INVALID_CODE')

  const unknown = await post(env, '/auth/otp/verify', { phone: '+33622222222', code: '123456' })
  t.equal(unknown.statusCode, 401)
  t.equal(unknown.json().code, 'INVALID_CODE')
  t.notOk(JSON.stringify(await keysMatching(env.redis, `${env.config.redisPrefix}otp:*`)).includes('612345678'), 'keys hold no number')
})

t.test('an email can ask for its code by SMS: sent to the verified phone only', async (t) => {
  const { env, twilio } = await smsEnv(t)
  const verified = await createUser(env, { phone: PHONE, phoneVerifiedAt: new Date() })
  const unverified = await createUser(env, { phone: '+33698765432' })
  t.equal((await post(env, '/auth/otp/send', { email: verified.email, channel: 'sms' })).statusCode, 202)
  t.equal((await post(env, '/auth/otp/send', { email: unverified.email, channel: 'sms' })).statusCode, 202)
  const sms = await twilio.waitFor((m) => m.to === PHONE)
  await settle()
  t.equal(twilio.messages.length, 1, 'nothing to the unverified phone')
  const ok = await post(env, '/auth/otp/verify', { email: verified.email, code: codeFromSms(sms) })
  t.equal(ok.statusCode, 200)
  t.equal(ok.json().user.id, verified.id)
})

t.test('rate limits: one text a minute per phone, twenty an hour per client IP, and the per-IP request limit', async (t) => {
  // Room for 21 requests a minute from one address: the hourly SMS cap is what stops the 21st text.
  const { env, twilio } = await smsEnv(t, { authRateLimitMax: 100 })
  await createUser(env, { phone: PHONE, phoneVerifiedAt: new Date() })
  t.equal((await post(env, '/auth/otp/send', { phone: PHONE })).statusCode, 202)
  t.equal((await post(env, '/auth/otp/send', { phone: PHONE })).statusCode, 202, 'a second send within the minute is accepted')
  await twilio.waitFor((m) => m.to === PHONE)
  await settle()
  t.equal(twilio.messages.length, 1, 'but sends nothing')

  // 22 verified phones: 21 asked for from one address, whose 21st gets no text; the 22nd from
  // another address does.
  const phones = Array.from({ length: 22 }, (_, i) => `+336200000${String(i).padStart(2, '0')}`)
  for (const phone of phones) await createUser(env, { phone, phoneVerifiedAt: new Date() })
  for (const phone of phones.slice(0, 21)) t.equal((await post(env, '/auth/otp/send', { phone }, { remoteAddress: '203.0.113.7' })).statusCode, 202)
  await eventually(() => twilio.messages.length >= 21)
  await settle()
  t.same(twilio.messages.filter((m) => phones.includes(m.to)).map((m) => m.to).sort(), phones.slice(0, 20), 'twenty texts for one client IP in an hour')
  t.equal((await post(env, '/auth/otp/send', { phone: phones[21] }, { remoteAddress: '203.0.113.8' })).statusCode, 202)
  await twilio.waitFor((m) => m.to === phones[21])

  const limited = await smsEnv(t, { authRateLimitMax: 2 })
  const statuses = []
  for (let i = 0; i < 3; i++) statuses.push((await post(limited.env, '/auth/otp/send', { phone: PHONE }, { remoteAddress: '198.51.100.9' })).statusCode)
  t.same(statuses, [202, 202, 429], 'the per-IP request limit of the auth routes')
})

t.test('SMS sign-ups are capped per phone', async (t) => {
  const { env, twilio } = await smsEnv(t)
  const statuses = []
  for (let i = 0; i < 7; i++) statuses.push((await post(env, '/auth/signup', { email: uniqueEmail('cap'), name: 'Cap', phone: PHONE, verifyBy: 'sms' })).statusCode)
  t.same(statuses, [202, 202, 202, 202, 202, 202, 429])
  await eventually(() => twilio.messages.length >= 6)
  await settle()
  t.equal(twilio.messages.length, 6)
})

t.test('bad input is a 400 naming the field, and sends nothing', async (t) => {
  const { env, twilio } = await smsEnv(t)
  const user = await createUser(env, { phone: PHONE, phoneVerifiedAt: new Date() })
  const session = await login(env.app, user.email)
  const cases: Array<[string, string, unknown, string]> = [
    ['otp by a number with spaces', '/auth/otp/send', { phone: '+33 6 12 34 56 78' }, '/body/phone'],
    ['otp by a number without +', '/auth/otp/send', { phone: '33612345678' }, '/body/phone'],
    ['otp by a number no country has', '/auth/otp/send', { phone: '+33612345' }, '/body/phone'],
    ['otp by email and phone', '/auth/otp/send', { email: user.email, phone: PHONE }, '/body/phone'],
    ['otp by neither', '/auth/otp/send', {}, '/body/email'],
    ['otp by phone, channel email', '/auth/otp/send', { phone: PHONE, channel: 'email' }, '/body/channel'],
    ['verify by a bad number', '/auth/otp/verify', { phone: '0612345678', code: '123456' }, '/body/phone'],
    ['sign-up by SMS without a phone', '/auth/signup', { email: uniqueEmail('bad'), name: 'Bad', verifyBy: 'sms' }, '/body/phone'],
    ['sign-up with a bad phone', '/auth/signup', { email: uniqueEmail('bad'), name: 'Bad', phone: '+1 555', verifyBy: 'sms' }, '/body/phone'],
    ['sign-up by carrier pigeon', '/auth/signup', { email: uniqueEmail('bad'), name: 'Bad', phone: PHONE, verifyBy: 'pigeon' }, '/body/verifyBy']
  ]
  for (const [what, url, payload, pointer] of cases) {
    const res = await post(env, url, payload)
    t.equal(res.statusCode, 400, what)
    t.ok(res.json().errors.some((e: { pointer: string }) => e.pointer === pointer), `${what}: names ${pointer} (${res.body})`)
  }
  const badAdd = await post(env, '/users/me/phone', { phone: '+33 6 12 34 56 78' }, { headers: session.headers })
  t.equal(badAdd.statusCode, 400)
  t.equal(badAdd.json().errors[0].pointer, '/body/phone')
  await settle()
  t.equal(twilio.requests.length, 0, 'nothing was sent')
  t.same(await keysMatching(env.redis, `${env.config.redisPrefix}signup:*`), [], 'no sign-up was started')
  t.same(await keysMatching(env.redis, `${env.config.redisPrefix}otp:*`), [], 'no code was issued')
})

t.test('a signed-in user adds a phone by SMS code; it then signs in, and no other account keeps it verified', async (t) => {
  const { env, twilio } = await smsEnv(t)
  const previous = await createUser(env, { phone: PHONE, phoneVerifiedAt: new Date() })
  const user = await createUser(env)
  const session = await login(env.app, user.email)

  const started = await post(env, '/users/me/phone', { phone: PHONE }, { headers: session.headers })
  t.equal(started.statusCode, 202)
  t.equal(started.json().phone, PHONE)
  const sms = await twilio.waitFor((m) => m.to === PHONE)
  const before = await env.app.inject({ method: 'GET', url: '/users/me', headers: session.headers })
  t.equal(before.json().phone, null, 'nothing changes before the code is confirmed')

  const wrong = await post(env, '/users/me/phone/verify', { code: codeFromSms(sms) === '000000' ? '111111' : '000000' }, { headers: session.headers })
  t.equal(wrong.statusCode, 400)
  t.equal(wrong.json().code, 'INVALID_CODE')
  const ok = await post(env, '/users/me/phone/verify', { code: codeFromSms(sms) }, { headers: session.headers })
  t.equal(ok.statusCode, 200)
  t.equal(ok.json().phone, PHONE)
  t.ok(ok.json().phoneVerifiedAt)
  const old = await env.app.db.selectFrom('users').select(['phone', 'phoneVerifiedAt']).where('id', '=', previous.id).executeTakeFirstOrThrow()
  t.same(old, { phone: PHONE, phoneVerifiedAt: null }, 'the account that held the number keeps it as a contact, unverified')

  await post(env, '/auth/otp/send', { phone: PHONE })
  const signin = await twilio.waitFor((m) => /sign-in code/.test(m.body))
  const signedIn = await post(env, '/auth/otp/verify', { phone: PHONE, code: codeFromSms(signin) })
  t.equal(signedIn.json().user.id, user.id, 'the code signs in the new holder')

  // A different number through the profile is a contact detail only: unverified again.
  const patched = await env.app.inject({ method: 'PATCH', url: '/users/me', headers: bearer(session.accessToken), payload: { phone: '+33698765432' } })
  t.equal(patched.statusCode, 200)
  t.equal(patched.json().user.phoneVerifiedAt, null)
})

t.test('without an SMS provider, production refuses the SMS channel with 422', async (t) => {
  const prod = await createTestEnv(t, { config: { ...testConfig(), env: 'production' } })
  const phone = await prod.app.inject({ method: 'POST', url: '/auth/otp/send', payload: { phone: PHONE } })
  t.equal(phone.statusCode, 422)
  t.equal(phone.json().code, 'CHANNEL_UNAVAILABLE')
  t.equal(phone.json().errors[0].pointer, '/body/phone')
  const signup = await prod.app.inject({ method: 'POST', url: '/auth/signup', payload: { email: uniqueEmail('prod'), name: 'P', phone: PHONE, verifyBy: 'sms' } })
  t.equal(signup.statusCode, 422)
  t.equal(signup.json().errors[0].pointer, '/body/verifyBy')
})

t.test('one live account holds a verified number: the database refuses a second', async (t) => {
  const { env } = await smsEnv(t)
  await createUser(env, { phone: PHONE, phoneVerifiedAt: new Date() })
  await createUser(env, { phone: PHONE }) // the same number, unverified, is only a contact: allowed
  await t.rejects(createUser(env, { phone: PHONE, phoneVerifiedAt: new Date() }), { code: '23505', constraint: 'users_verified_phone' })
})
