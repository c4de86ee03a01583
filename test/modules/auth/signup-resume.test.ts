import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { codeFrom, createUser, uniqueEmail } from '../../helpers/auth.ts'
import type { ReceivedMail } from '../../helpers/smtp.ts'

// Resuming a sign-up by email never hands out the sign-up's id (anyone can type an email);
// codes are capped per sign-up and per email per hour, and wrong codes per email per hour.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** The one-a-minute cooldown of a sign-up's codes has passed (it is a Redis key with a TTL). */
async function aMinuteLater (env: TestEnv, signupId: string): Promise<void> {
  await env.redis.del(`${env.config.redisPrefix}signup:{${signupId}}:cooldown`)
}

const mailsTo = (env: TestEnv, email: string) => env.smtp!.messages.filter((m) => m.to.includes(email))
async function nthMail (env: TestEnv, email: string, n: number): Promise<ReceivedMail> {
  await env.smtp!.waitFor(() => mailsTo(env, email).length >= n)
  return mailsTo(env, email)[n - 1]!
}
/** Lets the worker deliver anything still queued, then reads how many mails arrived. */
async function settledCount (env: TestEnv, email: string): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 600))
  return mailsTo(env, email).length
}

const signup = (env: TestEnv, email: string) => env.app.inject({ method: 'POST', url: '/auth/signup', payload: { email, name: 'Resumer' } })
const resume = (env: TestEnv, email: string) => env.app.inject({ method: 'POST', url: '/auth/signup/resume', payload: { email } })
const resend = (env: TestEnv, signupId: string) => env.app.inject({ method: 'POST', url: '/auth/signup/resend', payload: { signupId } })
const verify = (env: TestEnv, signupId: string, code: string) => env.app.inject({ method: 'POST', url: '/auth/signup/verify', payload: { signupId, code } })
const other = (code: string) => code === '000000' ? '111111' : '000000'

t.test('resume never returns the sign-up\'s id; the fresh id it returns completes the sign-up', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const email = uniqueEmail()
  const started = (await signup(env, email)).json()
  const first = codeFrom(await nthMail(env, email, 1))

  const early = await resume(env, email)
  t.equal(early.statusCode, 202)
  t.match(early.json().signupId, UUID)
  t.not(early.json().signupId, started.signupId, 'within the minute: not the sign-up\'s id')

  await aMinuteLater(env, started.signupId)
  const resumed = await resume(env, email)
  t.equal(resumed.statusCode, 202)
  const { signupId: fresh } = resumed.json()
  t.not(fresh, started.signupId, 'not the sign-up\'s id')
  t.not(fresh, early.json().signupId, 'a new id every time')
  const mail = await nthMail(env, email, 2)
  const second = codeFrom(mail)
  t.notOk(mail.text.includes(started.signupId), 'the mail does not carry the original id either')
  t.ok(mail.text.includes(fresh), 'its link carries the fresh id')

  if (second !== first) t.equal((await verify(env, fresh, first)).statusCode, 400, 'the earlier code stopped working')
  const done = await verify(env, fresh, second)
  t.equal(done.statusCode, 201, 'the fresh id and the new code complete the sign-up')
  t.equal(done.json().user.email, email)
  t.equal((await verify(env, started.signupId, second)).statusCode, 400, 'and it is complete: nothing is left to verify')
})

t.test('the original id keeps working with the resumed code', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const email = uniqueEmail()
  const started = (await signup(env, email)).json()
  await nthMail(env, email, 1)
  await aMinuteLater(env, started.signupId)
  t.equal((await resume(env, email)).statusCode, 202)
  const code = codeFrom(await nthMail(env, email, 2))
  t.equal((await verify(env, started.signupId, code)).statusCode, 201)
})

t.test('resume answers alike for a pending, a registered and an unknown email', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const pending = uniqueEmail('pending')
  const started = (await signup(env, pending)).json()
  await nthMail(env, pending, 1)
  await aMinuteLater(env, started.signupId)
  const registered = (await createUser(env)).email
  const answers = [await resume(env, pending), await resume(env, registered), await resume(env, uniqueEmail('nobody')), await resume(env, pending)]
  for (const res of answers) {
    t.equal(res.statusCode, 202)
    t.same(Object.keys(res.json()).sort(), ['expiresAt', 'signupId'])
    t.match(res.json().signupId, UUID)
    t.not(res.json().signupId, started.signupId)
    t.ok(Math.abs(new Date(res.json().expiresAt).getTime() - (Date.now() + 24 * 3600_000)) < 60_000, 'expires in 24 h')
  }
  t.equal(new Set(answers.map((r) => r.json().signupId)).size, 4, 'never the same id twice')

  // Whatever id came back, a wrong code gets the same answer, and so does a resend within the minute.
  const wrongs = await Promise.all(answers.slice(0, 3).map((r) => verify(env, r.json().signupId, '123456')))
  t.same(new Set(wrongs.map((w) => JSON.stringify({ status: w.statusCode, code: w.json().code, detail: w.json().detail }))).size, 1, 'one answer to a wrong code')
  const resends = await Promise.all(answers.slice(0, 3).map((r) => resend(env, r.json().signupId)))
  t.same(resends.map((r) => r.statusCode), [429, 429, 429], 'one answer to an early resend')
  for (const id of [started.signupId, answers[1]!.json().signupId, answers[2]!.json().signupId]) await aMinuteLater(env, id)
  const later = await Promise.all(answers.slice(0, 3).map((r) => resend(env, r.json().signupId)))
  for (const res of later) {
    t.equal(res.statusCode, 202)
    t.ok(Math.abs(new Date(res.json().expiresAt).getTime() - (Date.now() + 24 * 3600_000)) < 60_000, 'and a later one answers alike too')
  }
})

t.test('a sign-up burns after five codes', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const email = uniqueEmail()
  const { signupId } = (await signup(env, email)).json()
  await nthMail(env, email, 1)
  for (let n = 2; n <= 5; n++) {
    await aMinuteLater(env, signupId)
    t.equal((await resend(env, signupId)).statusCode, 202)
    await nthMail(env, email, n)
  }
  const fifth = codeFrom(mailsTo(env, email)[4]!)
  await aMinuteLater(env, signupId)
  t.equal((await resend(env, signupId)).statusCode, 202, 'a sixth code is asked for')
  t.equal(await settledCount(env, email), 5, 'but not sent')
  const burnt = await verify(env, signupId, fifth)
  t.equal(burnt.statusCode, 400)
  t.equal(burnt.json().code, 'CODE_BURNT', 'the sign-up burnt: even the last code fails')
  await aMinuteLater(env, signupId)
  t.equal((await resume(env, email)).statusCode, 202)
  t.equal(await settledCount(env, email), 5, 'resume sends nothing for a burnt sign-up')

  const again = (await signup(env, email)).json()
  const code = codeFrom(await nthMail(env, email, 6))
  t.equal((await verify(env, again.signupId, code)).statusCode, 201, 'starting again works')
})

t.test('resends per email are capped per hour, across sign-ups', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const email = uniqueEmail()
  let sent = 0
  let { signupId } = (await signup(env, email)).json()
  await nthMail(env, email, ++sent)
  for (let i = 0; i < 4; i++) {
    await aMinuteLater(env, signupId)
    t.equal((await resume(env, email)).statusCode, 202)
    await nthMail(env, email, ++sent)
  }
  signupId = (await signup(env, email)).json().signupId
  await nthMail(env, email, ++sent)
  for (let i = 0; i < 2; i++) {
    await aMinuteLater(env, signupId)
    t.equal((await resend(env, signupId)).statusCode, 202)
    await nthMail(env, email, ++sent)
  }
  t.equal(sent, 8, 'two sign-ups and six resends')
  await aMinuteLater(env, signupId)
  t.equal((await resume(env, email)).statusCode, 202, 'a seventh resend within the hour')
  await aMinuteLater(env, signupId)
  t.equal((await resend(env, signupId)).statusCode, 202, 'and an eighth')
  t.equal(await settledCount(env, email), 8, 'send nothing')
  const latest = codeFrom(mailsTo(env, email)[7]!)
  t.equal((await verify(env, signupId, latest)).statusCode, 201, 'the last code sent still works')
})

t.test('wrong codes per email are capped per hour, across codes', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const email = uniqueEmail()
  const { signupId } = (await signup(env, email)).json()
  let code = codeFrom(await nthMail(env, email, 1))
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 5; i++) {
      t.equal((await verify(env, signupId, other(code))).json().code, 'INVALID_CODE')
    }
    await aMinuteLater(env, signupId)
    t.equal((await resend(env, signupId)).statusCode, 202)
    code = codeFrom(await nthMail(env, email, round + 2))
  }
  const capped = await verify(env, signupId, code)
  t.equal(capped.statusCode, 400)
  t.equal(capped.json().code, 'CODE_BURNT', 'ten wrong codes within the hour: even a fresh right code is refused')
})
