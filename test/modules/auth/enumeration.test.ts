import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { createUser, uniqueEmail } from '../../helpers/auth.ts'

// For each public entry point, a registered and an unknown email get the same status and the
// same body shape (ids and timestamps differ, their presence does not).
t.test('registered and unknown emails are answered alike', async (t) => {
  const env = await createTestEnv(t)
  const known = await createUser(env)
  const unknown = uniqueEmail('unknown')
  const shape = (value: unknown): unknown => (value && typeof value === 'object')
    ? Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'requestId').map(([k, v]) => [k, typeof v === 'object' ? shape(v) : typeof v]))
    : typeof value
  const cases: Array<[string, (email: string) => object]> = [
    ['/auth/signup', (email) => ({ email, name: 'Probe', password: 'probe password 1' })],
    ['/auth/otp/send', (email) => ({ email })],
    ['/auth/password/forgot', (email) => ({ email })],
    ['/auth/signup/resume', (email) => ({ email })],
    ['/auth/login', (email) => ({ email, password: 'probe password 1' })]
  ]
  for (const [url, body] of cases) {
    const a = await env.app.inject({ method: 'POST', url, remoteAddress: '10.9.0.1', payload: body(known.email) })
    const b = await env.app.inject({ method: 'POST', url, remoteAddress: '10.9.0.2', payload: body(unknown) })
    t.equal(a.statusCode, b.statusCode, `${url}: same status (${a.statusCode})`)
    t.ok(a.statusCode === 202 || a.statusCode === 401, `${url}: accepted or refused, never revealing`)
    t.same(shape(a.json()), shape(b.json()), `${url}: same body shape`)
    if (a.statusCode === 401) t.equal(a.json().detail, b.json().detail, `${url}: same words`)
  }
})

t.test('a sign-up of a registered email answers wrong codes exactly as one of an unknown email', async (t) => {
  const env = await createTestEnv(t)
  const known = await createUser(env)
  const answersFor = async (email: string, remoteAddress: string) => {
    const { signupId } = (await env.app.inject({ method: 'POST', url: '/auth/signup', remoteAddress, payload: { email, name: 'Probe', password: 'probe password 1' } })).json()
    const answers: string[] = []
    // Five wrong codes are judged, then the code burns: the same steps whether or not the email is registered.
    for (let i = 0; i < 7; i++) {
      const res = await env.app.inject({ method: 'POST', url: '/auth/signup/verify', remoteAddress, payload: { signupId, code: '000000' } })
      answers.push(`${res.statusCode} ${res.json().code} ${res.json().detail}`)
    }
    return answers
  }
  const registered = await answersFor(known.email, '10.9.1.1')
  const unknown = await answersFor(uniqueEmail('unknown'), '10.9.1.2')
  t.same(registered, unknown, 'the same statuses, codes and words, try by try')
  t.match(unknown[0], /^400 INVALID_CODE /, 'a first wrong code is just wrong')
  t.match(unknown[6], /^400 CODE_BURNT /)
})
