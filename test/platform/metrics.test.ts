import { randomUUID } from 'node:crypto'
import t from 'tap'
import { createTestEnv, type TestEnv } from '../helpers/app.ts'
import { createUser, login } from '../helpers/auth.ts'
import { addToCart, approvedStore, checkout, createProduct, shopper } from '../helpers/commerce.ts'
import { parseExposition, valueOf } from '../helpers/metrics.ts'
import { deliver, payAndNotify, paymentEnv, placedCheckout } from '../helpers/payments.ts'
import { loadConfig } from '../../src/config.ts'

// Issue 12, item 5: GET /metrics on the API, for the bearer of METRICS_TOKEN only, in the
// Prometheus text format, and moving with the traffic: requests by route pattern, the business
// counters, the queues' depths, the pool, Redis and the process's own figures.

const TOKEN = 'metrics-token-of-the-tests-0123'
const withToken = { config: { metricsToken: TOKEN } }

async function scrape (env: TestEnv): Promise<string> {
  const res = await env.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })
  if (res.statusCode !== 200) throw new Error(`scrape refused: ${res.statusCode} ${res.body}`)
  return res.body
}

t.test('without METRICS_TOKEN there is no /metrics: 404, as for any unknown path', async (t) => {
  const env = await createTestEnv(t)
  const res = await env.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'NOT_FOUND')
})

t.test('/metrics answers only to the bearer of the token, in Prometheus text format, and is not in the OpenAPI document', async (t) => {
  const env = await createTestEnv(t, withToken)
  for (const authorization of [undefined, `Bearer ${TOKEN}x`, 'Bearer ', `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`, TOKEN]) {
    const res = await env.app.inject({ method: 'GET', url: '/metrics', headers: authorization === undefined ? {} : { authorization } })
    t.equal(res.statusCode, 401, `refused: ${authorization ?? 'no header'}`)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="metrics"')
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.notMatch(res.body, /bazaar_|process_cpu/, 'and shown nothing')
  }

  t.equal((await env.app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200, 'a request that uses the pool')
  const res = await env.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `bearer ${TOKEN}` } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
  const { samples, help, types } = parseExposition(res.body)
  const families = new Set([...types.keys()])
  for (const name of families) t.ok(help.has(name), `${name} has its HELP line`)
  for (const sample of samples) {
    const family = [...families].find((f) => sample.name === f || sample.name.startsWith(`${f}_`))
    if (!family) t.fail(`${sample.name} has no TYPE line`)
  }
  for (const name of [
    'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'process_resident_memory_bytes',
    'bazaar_pg_pool_connections', 'bazaar_pg_pool_waiting_clients', 'bazaar_pg_pool_max_connections',
    'bazaar_redis_up', 'bazaar_redis_ping_seconds', 'bazaar_queue_jobs', 'bazaar_http_request_duration_seconds',
    'bazaar_sign_ins_total', 'bazaar_password_checks_total', 'bazaar_checkouts_total', 'bazaar_payments_total', 'bazaar_refunds_total'
  ]) t.ok(types.has(name), `${name} is exported`)
  t.equal(valueOf(res.body, 'bazaar_redis_up', { connection: 'api' }), 1, 'Redis is up')
  t.equal(valueOf(res.body, 'bazaar_pg_pool_max_connections'), env.config.databasePoolMax)
  t.ok(valueOf(res.body, 'bazaar_pg_pool_connections', { state: 'total' })! >= 1, 'the pool has a connection open')
  t.equal(valueOf(res.body, 'bazaar_pg_pool_waiting_clients'), 0)
  t.ok(valueOf(res.body, 'bazaar_redis_ping_seconds')! > 0, 'a PING was timed')
  for (const method of ['password', 'otp', 'signup']) t.equal(valueOf(res.body, 'bazaar_sign_ins_total', { method }), 0, `sign-ins by ${method} start at 0`)

  const document = (await env.app.inject({ method: 'GET', url: '/docs/json' })).json()
  t.notOk(Object.keys(document.paths).includes('/metrics'), 'not in the OpenAPI document')
})

t.test('the request histogram counts requests by route pattern, method and status; unknown paths share one series; probes are not measured', async (t) => {
  const env = await createTestEnv(t, withToken)
  const ids = [randomUUID(), randomUUID(), randomUUID()]
  for (const id of ids) t.equal((await env.app.inject({ method: 'GET', url: `/products/${id}` })).statusCode, 404)
  const paths = [`/no/such/${randomUUID()}`, `/wp-login.php?x=${randomUUID()}`]
  for (const url of paths) t.equal((await env.app.inject({ method: 'GET', url })).statusCode, 404)
  for (let i = 0; i < 5; i++) t.equal((await env.app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
  t.equal((await env.app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200)

  const body = await scrape(env)
  const count = (labels: Record<string, string>) => valueOf(body, 'bazaar_http_request_duration_seconds_count', labels)
  t.equal(count({ route: '/products/:id', method: 'GET', status_code: '404' }), 3, 'three reads of the product route, under its pattern')
  t.equal(count({ route: 'unmatched', method: 'GET', status_code: '404' }), 2, 'two unknown paths, one series')
  t.equal(valueOf(body, 'bazaar_http_request_duration_seconds_bucket', { route: '/products/:id', method: 'GET', status_code: '404', le: '+Inf' }), 3)
  t.ok(valueOf(body, 'bazaar_http_request_duration_seconds_sum', { route: '/products/:id', method: 'GET', status_code: '404' })! > 0, 'and their time')
  for (const value of [...ids, ...paths]) t.notOk(body.includes(value.split('?')[0]!.replace(/^\//, '')), `no raw path in the labels (${value})`)
  t.notMatch(body, /route="\/health/, 'probes are not measured')
  t.notMatch(body, /route="\/metrics"/, 'nor scrapes')

  // The onRoute hook put the observer on the product route only, not on liveness.
  t.equal((await env.app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
  t.equal(count({ route: 'unmatched', method: 'GET', status_code: '404' }), 2)
})

t.test('business counters move when their fact happens: a sign-in, a checkout', async (t) => {
  const env = await createTestEnv(t, withToken)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { price: 1200, variants: [{ stock: 5 }] })
  const buyer = await shopper(env)
  const user = await createUser(env)
  const before = await scrape(env)

  await login(env.app, user.email)
  t.equal((await addToCart(env, buyer, product.variants[0].id, 2)).statusCode, 200)
  t.equal((await checkout(env, buyer)).statusCode, 201)
  const refused = await env.app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: 'not the password at all' } })
  t.equal(refused.statusCode, 401)

  const after = await scrape(env)
  const delta = (name: string, labels: Record<string, string> = {}) => (valueOf(after, name, labels) ?? 0) - (valueOf(before, name, labels) ?? 0)
  t.equal(delta('bazaar_sign_ins_total', { method: 'password' }), 1, 'one sign-in: the refused one is not counted')
  t.equal(delta('bazaar_sign_ins_total', { method: 'otp' }), 0)
  t.equal(delta('bazaar_checkouts_total'), 1, 'one checkout')
  t.equal(delta('bazaar_http_request_duration_seconds_count', { route: '/orders', method: 'POST', status_code: '201' }), 1)
  t.equal(delta('bazaar_http_request_duration_seconds_count', { route: '/auth/login', method: 'POST', status_code: '401' }), 1)
})

t.test('payments are counted by outcome, and refunds once settled', async (t) => {
  const { env, stripe } = await paymentEnv(t, withToken)
  const placed = await placedCheckout(env)
  const before = await scrape(env)

  t.equal((await deliver(env, stripe.signedEvent(stripe.failPayment(placed.intentId)))).statusCode, 200)
  await payAndNotify(env, stripe, placed.intentId)
  const store = placed.stores[0]!
  const order = placed.orders.find((o) => o.workspaceId === store.workspaceId)
  const refund = await env.app.inject({
    method: 'POST',
    url: `/workspaces/${store.workspaceId}/orders/${order.id}/refund`,
    headers: { ...store.owner.headers, 'idempotency-key': 'metrics-refund' },
    payload: { amount: 500 }
  })
  t.equal(refund.statusCode, 200, refund.statusCode === 200 ? 'the owner refunds 500' : refund.body)

  const after = await scrape(env)
  const delta = (name: string, labels: Record<string, string> = {}) => (valueOf(after, name, labels) ?? 0) - (valueOf(before, name, labels) ?? 0)
  t.equal(delta('bazaar_payments_total', { outcome: 'failed' }), 1, 'the failed attempt')
  t.equal(delta('bazaar_payments_total', { outcome: 'confirmed' }), 1, 'then the payment')
  t.equal(delta('bazaar_payments_total', { outcome: 'review' }), 0)
  t.equal(delta('bazaar_refunds_total'), 1, 'one refund settled')
})

t.test('queue depths are read from Redis at scrape time: a job enqueued with no worker is waiting', async (t) => {
  const env = await createTestEnv(t, withToken)
  t.equal(valueOf(await scrape(env), 'bazaar_queue_jobs', { queue: 'files', state: 'waiting' }), 0)
  await env.app.queues.files.add('delete', { keys: ['nothing-here'] })
  await env.app.queues.files.add('delete', { keys: ['nothing-either'] }, { delay: 60_000 })
  const body = await scrape(env)
  t.equal(valueOf(body, 'bazaar_queue_jobs', { queue: 'files', state: 'waiting' }), 1)
  t.equal(valueOf(body, 'bazaar_queue_jobs', { queue: 'files', state: 'delayed' }), 1)
  for (const state of ['active', 'failed']) t.equal(valueOf(body, 'bazaar_queue_jobs', { queue: 'files', state }), 0)
  t.equal(valueOf(body, 'bazaar_queue_jobs', { queue: 'email', state: 'waiting' }), 0, 'every queue is reported')
})

t.test('the settings: a short token, and a worker port without a token, are refused', async (t) => {
  t.throws(() => loadConfig({ NODE_ENV: 'test', METRICS_TOKEN: 'short' }), /METRICS_TOKEN must be a bearer token of at least 16 characters/)
  // A token no Authorization header can carry would lock every scraper out for good.
  t.throws(() => loadConfig({ NODE_ENV: 'test', METRICS_TOKEN: ' '.repeat(20) }), /METRICS_TOKEN must be a bearer token of at least 16 characters, no spaces/)
  t.throws(() => loadConfig({ NODE_ENV: 'test', METRICS_TOKEN: 'abcdefgh ijklmnopq' }), /METRICS_TOKEN must be/)
  t.equal(loadConfig({ NODE_ENV: 'test', METRICS_TOKEN: 'Abc-123_xyz.~+/=456' }).metricsToken, 'Abc-123_xyz.~+/=456')
  t.throws(() => loadConfig({ NODE_ENV: 'test', WORKER_METRICS_PORT: '9464' }), /WORKER_METRICS_PORT needs METRICS_TOKEN/)
  const config = loadConfig({ NODE_ENV: 'test', METRICS_TOKEN: TOKEN, WORKER_METRICS_PORT: '9464' })
  t.equal(config.metricsToken, TOKEN)
  t.equal(config.workerMetricsPort, 9464)
  t.equal(loadConfig({ NODE_ENV: 'test' }).metricsToken, undefined, 'off unless set')
})

/** The hook lines `printRoutes({ includeHooks: true })` shows under the first route line that matches. */
function hookLines (tree: string, route: RegExp): string[] {
  const lines = tree.split('\n')
  const at = lines.findIndex((line) => route.test(line))
  if (at < 0) throw new Error(`no route line matches ${route}`)
  const hooks: string[] = []
  for (const line of lines.slice(at + 1)) {
    if (!line.includes('• (')) break
    hooks.push(line)
  }
  return hooks
}

t.test('with the token, liveness still runs no hook of ours; each measured route carries one observer', async (t) => {
  const env = await createTestEnv(t, withToken)
  const tree = env.app.printRoutes({ commonPrefix: false, includeHooks: true })
  const live = hookLines(tree, /── \/live \(GET\)/)
  t.ok(live.length > 0, 'the liveness route is found')
  t.same(live.filter((line) => /onResponse|observe|measure/.test(line)), [], `no response hook on /health/live (${live.join(' ')})`)
  t.same(hookLines(tree, /── \/metrics \(GET\)/).filter((line) => /observe/.test(line)), [], 'nor on /metrics')
  const observed = tree.split('\n').filter((line) => line.includes('observeRequest()'))
  t.ok(observed.length > 100, `the API's routes are observed (${observed.length} route entries)`)
  t.same(observed.filter((line) => line.split('observeRequest()').length > 2), [], 'once each')
  t.notMatch(tree, /measureNotFound/, 'no route carries the not-found handler\'s hook')
})
