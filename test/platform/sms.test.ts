import t from 'tap'
import { loadConfig } from '../../src/config.ts'
import { enqueueSms, createSmsSender, forQueue, SmsSendError } from '../../src/platform/sms.ts'
import { createTestEnv, eventually } from '../helpers/app.ts'
import { startTwilioDouble } from '../helpers/twilio-double.ts'

// The Twilio adapter against a local double of the Messages API: what it sends, how each kind
// of failure comes back (retried or not, and never quoting the number, the text or the token),
// and the worker's retries with backoff.

const silent = { info () {}, warn () {}, error () {}, debug () {} } as never
const TO = '+33612345678'

t.test('sends To, From and Body with Basic auth, or MessagingServiceSid instead of From', async (t) => {
  const twilio = await startTwilioDouble()
  t.teardown(() => twilio.close())
  const sent = await createSmsSender(twilio.config(), silent).send(TO, 'hello 123456')
  t.match(sent.id, /^SM[0-9a-f]{32}$/, 'the message sid Twilio answered with')
  t.same(twilio.messages.map((m) => [m.to, m.from, m.body]), [[TO, twilio.from, 'hello 123456']])
  t.equal(twilio.requests[0]!.authorization, `Basic ${Buffer.from(`${twilio.accountSid}:${twilio.authToken}`).toString('base64')}`)
  t.match(twilio.requests[0]!.contentType, /^application\/x-www-form-urlencoded/)

  const service = `MG${'a'.repeat(32)}`
  await createSmsSender(twilio.config({ from: service }), silent).send(TO, 'via a service')
  t.same(twilio.messages[1], { sid: twilio.messages[1]!.sid, to: TO, from: null, messagingServiceSid: service, body: 'via a service' })
})

t.test('failures: a 400 is final, auth errors, 5xx, 429 and timeouts are retried; none quotes the number or the token', async (t) => {
  const twilio = await startTwilioDouble()
  t.teardown(() => twilio.close())
  const outcomes: Array<{ message: string, final: boolean }> = []
  const attempt = async (sender = createSmsSender(twilio.config({ timeoutMs: 300 }), silent), to = TO) => {
    const err = await sender.send(to, 'code 123456').then(() => null, (e: unknown) => e)
    t.type(err, SmsSendError)
    const queued = forQueue(err)
    outcomes.push({ message: queued.message, final: queued.name === 'UnrecoverableError' })
  }
  await attempt(createSmsSender(twilio.config({ authToken: 'not-the-token-0000' }), silent))
  await attempt(undefined, '+0') // the double refuses it as Twilio does: 400, error 21211
  twilio.failNext({ status: 503 }, { status: 429, code: 20429 }, 'hang')
  await attempt()
  await attempt()
  const started = Date.now()
  await attempt()
  t.ok(Date.now() - started < 3000, 'a hung request is abandoned at SMS_TIMEOUT_MS')
  t.same(outcomes, [
    { message: 'sms send failed: HTTP 401 (Twilio 20003)', final: false },
    { message: 'sms send failed: HTTP 400 (Twilio 21211)', final: true },
    { message: 'sms send failed: HTTP 503 (Twilio 20500)', final: false },
    { message: 'sms send failed: HTTP 429 (Twilio 20429)', final: false },
    { message: 'sms send failed: timeout', final: false }
  ])
  await twilio.close()
  await attempt()
  t.match(outcomes.at(-1), { message: /^sms send failed: ([A-Z_]+|network error)$/, final: false }, 'nobody listening: retried')
  t.equal(twilio.messages.length, 0)
})

t.test('the worker retries a failed send with backoff and keeps a refused one visible as failed, without personal data', async (t) => {
  const twilio = await startTwilioDouble()
  t.teardown(() => twilio.close())
  const env = await createTestEnv(t, { worker: true, config: twilio.config({ timeoutMs: 1000 }) })
  const queue = env.app.queues.sms

  twilio.failNext({ status: 500 }, 'hang')
  await enqueueSms(env.app.deps, 'signin-code', { to: TO, text: 'Your code is 654321' })
  const sms = await twilio.waitFor((m) => m.to === TO, 20000)
  t.equal(sms.body, 'Your code is 654321')
  t.equal(twilio.requests.length, 3, 'a 500, a timeout, then the send')
  const done = await eventually(async () => (await queue.getJobs(['completed']))[0])
  t.equal(done.attemptsMade, 3, 'done on the third attempt')

  await enqueueSms(env.app.deps, 'signin-code', { to: '+0', text: 'Your code is 111111' })
  const failed = await eventually(async () => (await queue.getJobs(['failed']))[0])
  t.equal(failed.attemptsMade, 1, 'a number Twilio refuses is not retried')
  t.equal(failed.failedReason, 'sms send failed: HTTP 400 (Twilio 21211)')
  const stored = JSON.stringify(failed)
  t.notOk(stored.includes('111111') || stored.includes(twilio.authToken), 'the kept job names neither the text nor the token')
})

t.test('settings: Twilio needs its three values together, and the log driver refuses them', async (t) => {
  const base = { NODE_ENV: 'test', DATA_DIR: t.testdirName }
  const full = { SMS_PROVIDER: 'twilio', TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`, TWILIO_AUTH_TOKEN: 'x'.repeat(32), TWILIO_FROM: '+15005550006' }
  t.match(loadConfig({ ...base, ...full, TWILIO_BASE_URL: 'http://127.0.0.1:9/' }).sms, {
    provider: 'twilio', timeoutMs: 10000, twilio: { accountSid: full.TWILIO_ACCOUNT_SID, from: '+15005550006', baseUrl: 'http://127.0.0.1:9' }
  })
  t.same(loadConfig(base).sms, { provider: 'log', twilio: undefined, timeoutMs: 10000 }, 'the log driver by default')
  t.throws(() => loadConfig({ ...base, ...full, TWILIO_AUTH_TOKEN: undefined }), /TWILIO_AUTH_TOKEN is required with SMS_PROVIDER=twilio/)
  t.throws(() => loadConfig({ ...base, TWILIO_FROM: '+15005550006' }), /SMS_PROVIDER must be twilio when TWILIO_FROM is set/)
  t.throws(() => loadConfig({ ...base, ...full, TWILIO_FROM: '555-0100' }), /TWILIO_FROM must be an E\.164 sender number/)
  t.throws(() => loadConfig({ ...base, ...full, TWILIO_BASE_URL: 'ftp://x' }), /TWILIO_BASE_URL must be a URL/)
  t.throws(() => loadConfig({ ...base, SMS_PROVIDER: 'carrier-pigeon' }), /SMS_PROVIDER must be log or twilio/)
})
