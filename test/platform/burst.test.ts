import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.ts'
import { createTestEnv } from '../helpers/app.ts'
import { createUser, login, uniqueEmail } from '../helpers/auth.ts'
import { spawnServer } from '../helpers/processes.ts'

// A load balancer restarting instances sends each fresh one a burst at once. Its very first
// traffic (failed sign-ins, which count per account in Redis, and signed-in requests, which
// check the session with a Lua script) must neither crash it nor answer 5xx.

const ROUNDS_IN_PROCESS = 4
const ROUNDS_SPAWNED = 3

interface Outcome { status: number, body: any }

function checkOutcomes (t: Test, logins: Outcome[], authed: Outcome[], userId: string): void {
  const loginStatuses = [...new Set(logins.map((r) => r.status))].sort()
  t.ok(loginStatuses.every((s) => s === 401 || s === 429), `failed logins answer 401/429 only (got ${loginStatuses.join(', ')})`)
  t.ok(logins.every((r) => r.body.code === 'INVALID_CREDENTIALS' || r.body.code === 'RATE_LIMITED'), 'with their problem codes')
  const authedStatuses = [...new Set(authed.map((r) => r.status))]
  t.same(authedStatuses, [200], 'every signed-in request succeeds')
  t.ok(authed.every((r) => r.body.id === userId || r.body.user?.id === userId), 'and sees its own user')
}

t.test('a freshly built app survives 40 failed logins and 40 signed-in requests as its first traffic', async (t) => {
  const env = await createTestEnv(t, { config: { authRateLimitMax: 100_000 } })
  const user = await createUser(env)
  const session = await login(env.app, user.email)

  for (let round = 0; round < ROUNDS_IN_PROCESS; round++) {
    const app = await buildApp(env.config)
    t.teardown(() => app.close())
    await app.ready()
    // Several accounts per round, so the per-account counters are fresh and really counted.
    const targets = [user.email, uniqueEmail('ghost'), uniqueEmail('ghost'), uniqueEmail('ghost')]
    const targetOf = (i: number) => i === 0 ? user.email : targets[(round + i) % targets.length]!
    const [logins, authed] = await Promise.all([
      Promise.all(Array.from({ length: 40 }, (_, i) => app.inject({
        method: 'POST', url: '/auth/login', payload: { email: targetOf(i), password: 'wrong password ' + i }
      }))),
      Promise.all(Array.from({ length: 40 }, () => app.inject({ method: 'GET', url: '/auth/me', headers: session.headers })))
    ])
    checkOutcomes(t, logins.map((r) => ({ status: r.statusCode, body: r.json() })), authed.map((r) => ({ status: r.statusCode, body: r.json() })), user.id)
    await app.close()
  }
})

t.test('a freshly started server process survives the same burst, start after start', async (t) => {
  const env = await createTestEnv(t, { config: { authRateLimitMax: 100_000 } })
  const user = await createUser(env)
  const session = await login(env.app, user.email)

  for (let round = 0; round < ROUNDS_SPAWNED; round++) {
    const server = await spawnServer(env.config)
    t.teardown(() => server.kill())
    const targets = [user.email, uniqueEmail('ghost'), uniqueEmail('ghost')]
    const call = async (path: string, init: RequestInit): Promise<Outcome> => {
      const res = await fetch(server.url + path, init)
      return { status: res.status, body: await res.json() }
    }
    const [logins, authed] = await Promise.all([
      Promise.all(Array.from({ length: 40 }, (_, i) => call('/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: targets[i % targets.length], password: 'wrong password ' + i })
      }))),
      Promise.all(Array.from({ length: 40 }, () => call('/auth/me', { headers: session.headers })))
    ])
    checkOutcomes(t, logins, authed, user.id)
    // Give a deferred crash (an error thrown on a later tick) the chance to happen.
    await new Promise((resolve) => setTimeout(resolve, 200))
    t.ok(server.alive(), `round ${round + 1}: the process is alive`)
    const live = await fetch(server.url + '/health/live')
    t.equal(live.status, 200, 'and still answering')
    t.notMatch(server.output(), /uncaught|TypeError|is not a function|is not iterable/i, 'nothing went wrong on the side')
    await server.kill()
  }
})
