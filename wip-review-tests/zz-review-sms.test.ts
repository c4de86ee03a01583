import t from 'tap'
import { createTestEnv, eventually, type Tap, type TestEnv } from '../../helpers/app.ts'
import { createUser, login, uniqueEmail } from '../../helpers/auth.ts'
import { codeFromSms, startTwilioDouble, type TwilioDouble } from '../../helpers/twilio-double.ts'

// REVIEW (adversarial): scratch tests demonstrating defects; not part of the branch.

const ATTACKER_PHONE = '+33612345678'

async function smsEnv (t: Tap, options: { authRateLimitMax?: number } = {}): Promise<{ env: TestEnv, twilio: TwilioDouble }> {
  const twilio = await startTwilioDouble()
  t.teardown(() => twilio.close())
  const env = await createTestEnv(t, { smtp: true, worker: true, config: { ...twilio.config(), ...(options.authRateLimitMax ? { authRateLimitMax: options.authRateLimitMax } : {}) } })
  return { env, twilio }
}
const post = (env: TestEnv, url: string, payload: unknown, extra: { headers?: Record<string, string>, remoteAddress?: string } = {}) =>
  env.app.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, ...extra })
const settle = () => new Promise((resolve) => setTimeout(resolve, 700))

t.test('PRE-HIJACK: an SMS sign-up with a victim\'s email keeps phone sign-in after the victim resets the password', async (t) => {
  const { env, twilio } = await smsEnv(t)
  const victim = uniqueEmail('victim')
  // The attacker signs up with the victim's address (not registered yet) and their own phone.
  const started = await post(env, '/auth/signup', { email: victim, name: 'Victim', phone: ATTACKER_PHONE, verifyBy: 'sms' })
  t.equal(started.statusCode, 202)
  const code = codeFromSms(await twilio.waitFor((m) => m.to === ATTACKER_PHONE))
  const done = await post(env, '/auth/signup/verify', { signupId: started.json().signupId, code })
  t.equal(done.statusCode, 201, 'account created for an email nobody proved')
  t.ok(done.json().user.verifiedAt ?? true)
  // The victim, as the README advises, resets the password through their mailbox.
  t.equal((await post(env, '/auth/password/forgot', { email: victim })).statusCode, 202)
  const mail = await env.smtp!.waitFor((m) => m.to.includes(victim) && /reset/i.test(m.subject))
  const token = decodeURIComponent(/token=([^\s"&<]+)/.exec(mail.text)![1]!)
  t.equal((await post(env, '/auth/password/reset', { token, password: 'the victim now owns this' })).statusCode, 204)
  // The attacker signs in again by phone.
  const before = twilio.messages.length
  t.equal((await post(env, '/auth/otp/send', { phone: ATTACKER_PHONE })).statusCode, 202)
  await eventually(() => twilio.messages.length > before)
  const signin = twilio.messages[twilio.messages.length - 1]!
  const again = await post(env, '/auth/otp/verify', { phone: ATTACKER_PHONE, code: codeFromSms(signin) })
  t.equal(again.statusCode, 200, `attacker signs in after the victim's password reset: ${again.statusCode}`)
  t.equal(again.json().user?.email, victim)
})

t.test('ENUMERATION: an SMS sign-up tells a registered email from a free one to whoever holds the phone', async (t) => {
  const { env, twilio } = await smsEnv(t)
  const registered = await createUser(env)
  const free = uniqueEmail('free')
  const outcome: Record<string, number> = {}
  for (const [label, email] of [['registered', registered.email], ['free', free]] as const) {
    const n = twilio.messages.length
    const started = await post(env, '/auth/signup', { email, name: 'Probe', phone: ATTACKER_PHONE, verifyBy: 'sms' })
    await eventually(() => twilio.messages.length > n)
    const code = codeFromSms(twilio.messages[twilio.messages.length - 1]!)
    outcome[label] = (await post(env, '/auth/signup/verify', { signupId: started.json().signupId, code })).statusCode
  }
  t.same(outcome, { registered: 400, free: 201 }, `the received code answers differently: ${JSON.stringify(outcome)}`)
})

t.test('PUMPING: sign-up texts are not under the 20-an-hour per-IP SMS cap', async (t) => {
  const { env, twilio } = await smsEnv(t, { authRateLimitMax: 100 })
  const phones = Array.from({ length: 25 }, (_, i) => `+336300000${String(i).padStart(2, '0')}`)
  for (const phone of phones) {
    const res = await post(env, '/auth/signup', { email: uniqueEmail('pump'), name: 'Pump', phone, verifyBy: 'sms' }, { remoteAddress: '203.0.113.50' })
    t.equal(res.statusCode, 202)
  }
  await eventually(() => twilio.messages.length >= 25, 15_000)
  await settle()
  t.equal(twilio.messages.length, 25, `texts sent for one client IP within a minute: ${twilio.messages.length}`)
})

t.test('COOLDOWN: two texts to one phone within the minute (email-subject and phone-subject codes)', async (t) => {
  const { env, twilio } = await smsEnv(t)
  const user = await createUser(env, { phone: ATTACKER_PHONE, phoneVerifiedAt: new Date() })
  t.equal((await post(env, '/auth/otp/send', { email: user.email, channel: 'sms' })).statusCode, 202)
  t.equal((await post(env, '/auth/otp/send', { phone: ATTACKER_PHONE })).statusCode, 202)
  await eventually(() => twilio.messages.length >= 2)
  await settle()
  t.equal(twilio.messages.length, 2, 'two texts to one phone within a second')
  // Two live codes at once: 5 tries each.
  const a = codeFromSms(twilio.messages[0]!)
  const b = codeFromSms(twilio.messages[1]!)
  const byEmail = await post(env, '/auth/otp/verify', { email: user.email, code: a })
  const byPhone = await post(env, '/auth/otp/verify', { phone: ATTACKER_PHONE, code: b })
  t.same([byEmail.statusCode, byPhone.statusCode], [200, 200], 'both codes live at the same time')
})

t.test('RACE: two accounts confirming one number at once', async (t) => {
  const { env, twilio } = await smsEnv(t, { authRateLimitMax: 1000 })
  const all: number[] = []
  for (let round = 0; round < 8; round++) {
    const PHONE = `+336998877${String(round).padStart(2, '0')}`
    const a = await createUser(env)
    const b = await createUser(env)
    const sa = await login(env.app, a.email)
    const sb = await login(env.app, b.email)
    const n = twilio.messages.length
    t.equal((await post(env, '/users/me/phone', { phone: PHONE }, { headers: sa.headers })).statusCode, 202)
    t.equal((await post(env, '/users/me/phone', { phone: PHONE }, { headers: sb.headers })).statusCode, 202)
    await eventually(() => twilio.messages.length >= n + 2)
    const ca = codeFromSms(twilio.messages.find((m, i) => i >= n && m.body.includes('confirm'))!)
    const cb = codeFromSms(twilio.messages.filter((m, i) => i >= n)[1]!)
    const [ra, rb] = await Promise.all([
      post(env, '/users/me/phone/verify', { code: ca }, { headers: sa.headers }),
      post(env, '/users/me/phone/verify', { code: cb }, { headers: sb.headers })
    ])
    all.push(ra.statusCode, rb.statusCode)
    for (const r of [ra, rb]) if (r.statusCode !== 200) t.comment(r.body.slice(0, 300))
    const verified = await env.app.db.selectFrom('users').select('id').where('phone', '=', PHONE).where('phoneVerifiedAt', 'is not', null).execute()
    t.equal(verified.length, 1)
  }
  t.comment(JSON.stringify(all))
  t.ok(all.every((s) => s === 200), `every confirmation 200: ${JSON.stringify(all)}`)
})

t.test('TIMING: POST /auth/otp/send { phone } for a verified vs an unknown number', async (t) => {
  const { env } = await smsEnv(t, { authRateLimitMax: 100000 })
  const N = 60
  const known = Array.from({ length: N }, (_, i) => `+336400000${String(i).padStart(2, '0')}`)
  const unknown = Array.from({ length: N }, (_, i) => `+336500000${String(i).padStart(2, '0')}`)
  for (const phone of known) await createUser(env, { phone, phoneVerifiedAt: new Date() })
  // warm up
  for (let i = 0; i < 5; i++) await post(env, '/auth/otp/send', { phone: `+3366000000${i}` }, { remoteAddress: `198.51.100.${i + 1}` })
  const times: Record<string, number[]> = { known: [], unknown: [] }
  for (let i = 0; i < N; i++) {
    for (const [label, phone] of (i % 2 ? [['known', known[i]!], ['unknown', unknown[i]!]] : [['unknown', unknown[i]!], ['known', known[i]!]]) as Array<['known' | 'unknown', string]>) {
      const start = process.hrtime.bigint()
      await post(env, '/auth/otp/send', { phone }, { remoteAddress: `10.9.${i}.${label === 'known' ? 1 : 2}` })
      times[label]!.push(Number(process.hrtime.bigint() - start) / 1e6)
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  t.comment(`median ms: known ${median(times.known!).toFixed(2)}, unknown ${median(times.unknown!).toFixed(2)}`)
  t.comment(`min ms: known ${Math.min(...times.known!).toFixed(2)}, unknown ${Math.min(...times.unknown!).toFixed(2)}`)
  t.pass()
})

t.test('RACE at sign-up: two SMS sign-ups of one number verified at once', async (t) => {
  const { env, twilio } = await smsEnv(t, { authRateLimitMax: 1000 })
  const all: string[] = []
  for (let round = 0; round < 6; round++) {
    const PHONE = `+336997766${String(round).padStart(2, '0')}`
    const n = twilio.messages.length
    const s1 = await post(env, '/auth/signup', { email: uniqueEmail('r1'), name: 'R1', phone: PHONE, verifyBy: 'sms' })
    await eventually(() => twilio.messages.length >= n + 1)
    const s2 = await post(env, '/auth/signup', { email: uniqueEmail('r2'), name: 'R2', phone: PHONE, verifyBy: 'sms' })
    await eventually(() => twilio.messages.length >= n + 2)
    const [m1, m2] = twilio.messages.slice(n)
    const [r1, r2] = await Promise.all([
      post(env, '/auth/signup/verify', { signupId: s1.json().signupId, code: codeFromSms(m1!) }),
      post(env, '/auth/signup/verify', { signupId: s2.json().signupId, code: codeFromSms(m2!) })
    ])
    all.push(`${r1.statusCode}${r1.statusCode !== 201 ? ':' + r1.json().code : ''}`, `${r2.statusCode}${r2.statusCode !== 201 ? ':' + r2.json().code : ''}`)
  }
  console.error('SIGNUP RACE', JSON.stringify(all))
  t.ok(all.every((s) => s === '201'), JSON.stringify(all))
})

t.test('after the 500 of a phone-confirm race, the code is gone', async (t) => {
  const { env, twilio } = await smsEnv(t, { authRateLimitMax: 1000 })
  for (let round = 0; round < 8; round++) {
    const PHONE = `+336998866${String(round).padStart(2, '0')}`
    const a = await login(env.app, (await createUser(env)).email)
    const b = await login(env.app, (await createUser(env)).email)
    const n = twilio.messages.length
    await post(env, '/users/me/phone', { phone: PHONE }, { headers: a.headers })
    await eventually(() => twilio.messages.length >= n + 1)
    await post(env, '/users/me/phone', { phone: PHONE }, { headers: b.headers })
    await eventually(() => twilio.messages.length >= n + 2)
    const [ma, mb] = twilio.messages.slice(n)
    const [ra, rb] = await Promise.all([
      post(env, '/users/me/phone/verify', { code: codeFromSms(ma!) }, { headers: a.headers }),
      post(env, '/users/me/phone/verify', { code: codeFromSms(mb!) }, { headers: b.headers })
    ])
    const failed = ra.statusCode === 500 ? { s: a, code: codeFromSms(ma!) } : rb.statusCode === 500 ? { s: b, code: codeFromSms(mb!) } : null
    if (failed) {
      const retry = await post(env, '/users/me/phone/verify', { code: failed.code }, { headers: failed.s.headers })
      console.error('RETRY AFTER 500', retry.statusCode, retry.json().code)
      t.equal(retry.statusCode, 200, 'the same code works after the server error')
      return
    }
  }
  t.comment('no 500 in 8 rounds')
})

t.test('IPv6: the 20-an-hour SMS cap per client IP is per address, not per /64 like the other per-IP limits', async (t) => {
  const { env, twilio } = await smsEnv(t, { authRateLimitMax: 100 })
  const phones = Array.from({ length: 25 }, (_, i) => `+336210000${String(i).padStart(2, '0')}`)
  for (const phone of phones) await createUser(env, { phone, phoneVerifiedAt: new Date() })
  for (const [i, phone] of phones.entries()) {
    t.equal((await post(env, '/auth/otp/send', { phone }, { remoteAddress: `2001:db8:1234:5678::${(i + 1).toString(16)}` })).statusCode, 202)
  }
  await eventually(() => twilio.messages.length >= 21, 15000).catch(() => {})
  await settle()
  console.error('IPV6 TEXTS', twilio.messages.length)
  t.ok(twilio.messages.length <= 20, `texts from one /64 in an hour: ${twilio.messages.length}`)
})
