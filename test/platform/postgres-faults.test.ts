import { randomBytes } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import { createTestEnv, eventually } from '../helpers/app.ts'
import { approvedStore, createProduct, shopper, type Shopper } from '../helpers/commerce.ts'
import { terminateBackends } from '../helpers/database.ts'
import { spawnServer, spawnWorker } from '../helpers/processes.ts'
import { pgHoldingRoutes } from '../fixtures/pg-routes.ts'

// A Postgres restart ends every connection from the server side. A statement in flight, an
// open transaction, an idle pooled connection: each must fail only its own request, with 503
// DEPENDENCY_UNAVAILABLE (a retry will do), never 500, and never the process.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test('connections ended mid-statement and mid-transaction fail their request with 503, and readiness recovers at once', async (t) => {
  const env = await createTestEnv(t, { plugins: [pgHoldingRoutes] })
  t.equal((await env.app.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200)

  const statement = env.app.inject({ method: 'GET', url: '/test/pg-sleep' })
  const transaction = env.app.inject({ method: 'GET', url: '/test/pg-transaction' })
  await sleep(500)
  t.ok(await terminateBackends(env.config.databaseUrl) >= 2, 'the held connections were ended')

  for (const [name, pending] of [['statement', statement], ['transaction', transaction]] as const) {
    const res = await pending
    t.equal(res.statusCode, 503, `the request whose ${name} lost its connection answers 503`)
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.match(res.json(), { code: 'DEPENDENCY_UNAVAILABLE', status: 503, detail: 'A backing service is unavailable; retry shortly.' })
    t.notMatch(res.body, /terminat|queryable|57P01/i, 'without the driver\'s words')
  }

  // Postgres answers again at once here: readiness follows at the next check, with no backoff
  // to wait out (a few seconds' allowance: a busy machine opens a connection slowly).
  t.ok(await eventually(async () => (await env.app.inject({ method: 'GET', url: '/health/ready' })).statusCode === 200, 5000, 20), 'ready again within seconds')
  const again = await env.app.inject({ method: 'GET', url: '/test/pg-transaction' })
  t.same(again.json(), { committed: true }, 'and the pool serves transactions again')
})

interface Answer { path: string, status: number, code?: string, type?: string, body: string }

t.test('API and worker processes survive Postgres ending their connections under traffic, answer 503 meanwhile and recover', async (t) => {
  const env = await createTestEnv(t, { smtp: true, config: { authRateLimitMax: 100_000 } })
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { price: 1200, variants: [{ stock: 1000 }] })
  const variantId = product.variants[0].id as string
  const shoppers: Shopper[] = []
  for (let i = 0; i < 4; i++) shoppers.push(await shopper(env))

  const server = await spawnServer(env.config, { DATABASE_POOL_MAX: '6' }, { entry: 'test/fixtures/fault-server.ts' })
  t.teardown(() => server.kill())
  const worker = spawnWorker(env.config)
  t.teardown(() => worker.kill())

  const answers: Answer[] = []
  async function call (path: string, init: RequestInit = {}, who?: Shopper): Promise<Answer> {
    const res = await fetch(server.url + path, {
      ...init,
      headers: { ...(init.body ? { 'content-type': 'application/json' } : {}), ...(who ? who.session.headers : {}), ...init.headers as Record<string, string> }
    })
    const body = await res.text()
    let code: string | undefined
    try { code = JSON.parse(body).code } catch {}
    const answer = { path, status: res.status, code, type: res.headers.get('content-type') ?? undefined, body }
    answers.push(answer)
    return answer
  }
  const checkoutKeys = new Map(shoppers.map((s) => [s.id, `fault-${randomBytes(6).toString('hex')}`]))
  const checkoutOf = (who: Shopper) => call('/orders', {
    method: 'POST', body: JSON.stringify({ shippingAddressId: who.addressId }), headers: { 'idempotency-key': checkoutKeys.get(who.id)! }
  }, who)

  // Warm: the pools hold connections, the worker relays and sends.
  for (const who of shoppers) t.equal((await call('/cart/items', { method: 'POST', body: JSON.stringify({ variantId, quantity: 1 }) }, who)).status, 200)
  t.equal((await call('/auth/me', {}, shoppers[0])).status, 200)

  // The fault: requests, held connections and the checkouts in flight while Postgres ends every
  // connection, twice.
  const held = [call('/test/pg-sleep'), call('/test/pg-transaction')]
  const traffic = (async () => {
    const deadline = Date.now() + 1500
    while (Date.now() < deadline) {
      await Promise.all([
        call('/auth/me', {}, shoppers[1]),
        call('/products?limit=5'),
        call('/health/ready'),
        call(`/products/${product.id}`)
      ])
    }
  })()
  await sleep(300)
  const checkouts = shoppers.map((who) => checkoutOf(who))
  const ended = await terminateBackends(env.config.databaseUrl)
  await sleep(400)
  await terminateBackends(env.config.databaseUrl)
  await Promise.all([...held, traffic, ...checkouts])
  t.ok(ended > 0, `connections were ended (${ended})`)

  t.ok(server.alive(), 'the API process is alive')
  t.ok(worker.alive(), 'the worker process is alive')
  const failures = answers.filter((a) => a.status >= 500)
  t.same(answers.filter((a) => a.status === 500 || a.status > 503), [], 'no 500 (or other 5xx) at all')
  for (const a of failures.filter((f) => !f.path.startsWith('/health'))) {
    t.equal(a.code, 'DEPENDENCY_UNAVAILABLE', `${a.path}: 503 DEPENDENCY_UNAVAILABLE`)
    t.match(a.type, /^application\/problem\+json/)
  }
  const heldAnswers = answers.filter((a) => a.path.startsWith('/test/'))
  t.same(heldAnswers.map((a) => [a.status, a.code]), [[503, 'DEPENDENCY_UNAVAILABLE'], [503, 'DEPENDENCY_UNAVAILABLE']], 'the requests whose connection ended answer 503')

  // Recovery: ready again, and every checkout goes through on a retry with its key, once.
  await eventually(async () => (await call('/health/ready')).status === 200, 2000, 50)
  for (const who of shoppers) {
    const res = await eventually(async () => { const r = await checkoutOf(who); return r.status === 201 ? r : null }, 5000, 100)
    t.equal(JSON.parse(res!.body).orders.length, 1, 'one order per checkout')
  }
  const rows = await env.app.db.selectFrom('checkouts').select(['userId']).execute()
  t.equal(rows.length, shoppers.length, 'each shopper has exactly one checkout')

  // The worker with a job in flight: the outbox table is locked, so the worker's relay job (it
  // runs every second) and the payments (whose emails go through the outbox) wait on it inside
  // their statements; then Postgres ends every connection, the lock holder's included.
  const locker = new pg.Client({ connectionString: env.config.databaseUrl })
  locker.on('error', () => {})
  await locker.connect()
  await locker.query('begin')
  await locker.query('lock table outbox in access exclusive mode')
  const pay = async (userId: string) => {
    const checkout = await env.app.db.selectFrom('checkouts').select('id').where('userId', '=', userId).executeTakeFirstOrThrow()
    const who = shoppers.find((s) => s.id === userId)!
    return call(`/payments/simulator/${checkout.id}/succeed`, { method: 'POST' }, who)
  }
  const blockedPayments = rows.map((row) => pay(row.userId))
  const waitingOnOutbox = async (): Promise<number> => {
    const { rows: waiting } = await locker.query("select count(*)::int as n from pg_locks l join pg_class c on c.oid = l.relation where c.relname = 'outbox' and not l.granted")
    return waiting[0].n
  }
  // One per payment, and the worker's relay job (it runs every second).
  await eventually(async () => (await waitingOnOutbox()) >= rows.length + 1, 10000, 100)
  const waiting = await waitingOnOutbox()
  t.ok(waiting >= rows.length + 1, `the payments and the worker's relay job are waiting on the outbox, mid-statement (${waiting} waiting, ${rows.length + 1} expected)`)
  await terminateBackends(env.config.databaseUrl)
  await locker.end().catch(() => {})
  const paid = await Promise.all(blockedPayments)
  t.ok(paid.every((a) => a.status === 200 || (a.status === 503 && a.code === 'DEPENDENCY_UNAVAILABLE')), `the payments in flight answer 200 or 503 (${paid.map((a) => a.status).join(', ')})`)
  for (const row of rows) {
    await eventually(async () => (await pay(row.userId)).status === 200, 5000, 100)
  }
  t.ok(worker.alive(), 'the worker survived its connections ending with jobs in flight')
  for (const who of shoppers) {
    const mail = await env.smtp!.waitFor((m) => m.to.includes(who.email) && /order/i.test(m.subject), 20000)
    t.match(mail.text, /Hello/, `${who.email.split('@')[0]} got the order email`)
  }
  t.ok(server.alive() && worker.alive(), 'both processes are still alive')
})
