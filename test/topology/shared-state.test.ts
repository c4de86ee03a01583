import t from 'tap'
import { call, clientIp, createCustomer, login, topologyEnv } from './helpers.ts'

// Two API processes behind one address share everything a client's next request may need: its
// session, its rate limit and its idempotency keys live in the Redis Cluster, not in a process.

const RATE_LIMIT = 60
const env = await topologyEnv(t, { workers: 0, env: { RATE_LIMIT_MAX: String(RATE_LIMIT) } })
const [api1, api2] = env.topology.apis as [typeof env.topology.apis[0], typeof env.topology.apis[0]]
const bearer = (token: string) => ({ authorization: `Bearer ${token}`, 'x-forwarded-for': clientIp() })

t.test('a session made on API 1 works on API 2, and ending it on either refuses it on both at once', async (t) => {
  const customer = await createCustomer(env.db)
  const first = await login(api1, customer.email)
  const second = await login(api2, customer.email)
  for (const session of [first, second]) {
    for (const api of [api1, api2]) {
      const me = await call(api, 'GET', '/auth/me', { headers: bearer(session.token) })
      t.equal(me.status, 200, `session ${session === first ? 1 : 2} on ${api.name}`)
      t.equal(me.body.id ?? me.body.user?.id, customer.id)
    }
  }
  const sessions = await call(api2, 'GET', '/sessions', { headers: bearer(first.token) })
  t.equal(sessions.body.items.length, 2, 'both sessions listed, whichever API made them')

  // One session ended on API 2: refused on both at the next request; the other one lives on.
  t.equal((await call(api2, 'DELETE', `/sessions/${first.sessionId}`, { headers: bearer(second.token) })).status, 204)
  for (const api of [api1, api2]) {
    const refused = await call(api, 'GET', '/auth/me', { headers: bearer(first.token) })
    t.equal(refused.status, 401, `the ended session on ${api.name}`)
    t.equal(refused.body.code, 'SESSION_ENDED')
    t.equal((await call(api, 'GET', '/auth/me', { headers: bearer(second.token) })).status, 200, `the other session on ${api.name}`)
  }

  // Signing out everywhere on API 1 ends the last one for API 2 too.
  t.equal((await call(api1, 'POST', '/auth/logout-all', { headers: bearer(second.token) })).status, 204)
  const answers = await Promise.all([api1, api2, api1, api2].map((api) => call(api, 'GET', '/auth/me', { headers: bearer(second.token) })))
  t.same(answers.map((a) => a.status), [401, 401, 401, 401], 'refused on both APIs, at once')
})

t.test('the per-IP rate limit counts the hits of both APIs together', async (t) => {
  const ip = clientIp()
  const statuses: number[] = []
  // Alternating, as a load balancer spreads one client's requests.
  for (let i = 0; i < RATE_LIMIT + 5; i++) {
    const res = await call(i % 2 === 0 ? api1 : api2, 'GET', '/products?limit=1', { headers: { 'x-forwarded-for': ip } })
    statuses.push(res.status)
  }
  t.equal(statuses.slice(0, RATE_LIMIT).filter((s) => s === 200).length, RATE_LIMIT, `the first ${RATE_LIMIT} pass`)
  t.same(statuses.slice(RATE_LIMIT), [429, 429, 429, 429, 429], 'then both APIs refuse: the count is shared')
  // Alone, each API saw only half the limit: had they counted apart, none would refuse yet.
  t.equal((await call(api1, 'GET', '/products?limit=1', { headers: { 'x-forwarded-for': clientIp() } })).status, 200, 'another client is not limited')
})

t.test('an Idempotency-Key used on API 1 replays on API 2, and the change is made once', async (t) => {
  const customer = await createCustomer(env.db)
  const session = await login(api1, customer.email)
  const headers = { ...bearer(session.token), 'idempotency-key': `address-${Date.now()}` }
  const body = { street: '1 Replay Road', city: 'Twice', zipCode: '12345', country: 'US' }
  const first = await call(api1, 'POST', '/users/me/addresses', { headers, body })
  t.equal(first.status, 201)
  t.equal(first.headers.get('idempotent-replayed'), null, 'the first answer is made, not replayed')
  const again = await call(api2, 'POST', '/users/me/addresses', { headers, body })
  t.equal(again.status, 201)
  t.equal(again.headers.get('idempotent-replayed'), 'true', 'API 2 replays the answer API 1 gave')
  t.same(again.body, first.body, 'the same address id')
  const changed = await call(api2, 'POST', '/users/me/addresses', { headers, body: { ...body, city: 'Other' } })
  t.equal(changed.status, 422, 'the key with another body is refused on the other API too')

  // Both APIs at once with a new key: one makes it, the other waits its turn or replays; one row.
  const burst = { ...headers, 'idempotency-key': `burst-${Date.now()}` }
  const answers = await Promise.all([api1, api2, api1, api2].map((api) => call(api, 'POST', '/users/me/addresses', { headers: burst, body: { ...body, street: '2 Burst Lane' } })))
  t.equal(answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null).length, 1, 'exactly one request made the address')
  t.ok(answers.every((a) => a.status === 201 || a.status === 409), `others replayed or were told it is in progress: ${answers.map((a) => a.status)}`)
  const rows = await env.db.selectFrom('addresses').select(['street']).where('userId', '=', customer.id).execute()
  t.same(rows.map((r) => r.street).sort(), ['1 Replay Road', '2 Burst Lane'], 'one row per key in the database')
})
