import pg from 'pg'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.ts'
import { startWorker } from '../../src/worker.ts'
import { createTestEnv, eventually, type TestEnv } from '../helpers/app.ts'
import { codeFrom, login, uniqueEmail } from '../helpers/auth.ts'
import { addToCart, approvedStore, checkout, createProduct, shopper } from '../helpers/commerce.ts'
import { startPgBouncer, type PgBouncerOptions } from '../helpers/pgbouncer.ts'

// Issue 13, item 3: the API and the worker through a real PgBouncer in transaction pooling mode,
// two server connections shared by every client connection of both processes. What each flow
// wrote is read back from Postgres directly, not through the pooler.

const POOL_SIZE = 2
interface Through { env: TestEnv, app: FastifyInstance, direct: pg.Client, clientConnections: () => number }

async function throughPgBouncer (t: Test, bouncerOptions: PgBouncerOptions, preparedStatements: boolean): Promise<Through> {
  // Teardowns run last-registered first: app and worker, then the database, then PgBouncer.
  const bouncer = await startPgBouncer({ poolSize: POOL_SIZE, ...bouncerOptions })
  t.teardown(() => bouncer.close())
  const base = await createTestEnv(t, { api: false, smtp: true })
  const direct = new pg.Client({ connectionString: base.config.databaseUrl })
  await direct.connect()
  t.teardown(() => direct.end())
  const config = { ...base.config, databaseUrl: bouncer.url(base.config.databaseUrl), databasePreparedStatements: preparedStatements, databasePoolMax: 8 }
  const app = await buildApp(config)
  let opened = 0
  app.pgPool.on('connect', () => { opened++ })
  await app.ready()
  const worker = await startWorker(config)
  t.teardown(async () => {
    await worker.close()
    await app.close()
  })
  t.comment(`PgBouncer ${bouncer.version}, pool_mode=transaction, default_pool_size=${POOL_SIZE}, prepared statements ${preparedStatements ? 'on' : 'off'}`)
  return { env: { ...base, config, app, worker }, app, direct, clientConnections: () => opened }
}

const count = async (direct: pg.Client, query: string, values: unknown[] = []) => Number((await direct.query(query, values)).rows[0].n)

async function shopFlows (t: Test, through: Through): Promise<void> {
  const { env, app, direct } = through

  // Sign-up (the code arrives by the worker's email job) and login.
  const email = uniqueEmail('bouncer')
  const signup = await app.inject({ method: 'POST', url: '/auth/signup', payload: { email, name: 'Pooled Vendor', password: 'a very good password', type: 'vendor', workspaceName: 'Pooled Goods' } })
  t.equal(signup.statusCode, 202, 'sign-up accepted')
  const code = codeFrom(await env.smtp!.waitFor((m) => m.to.includes(email)))
  const verified = await app.inject({ method: 'POST', url: '/auth/signup/verify', payload: { signupId: signup.json().signupId, code } })
  t.equal(verified.statusCode, 201, 'sign-up verified')
  const session = await login(app, email, 'a very good password')
  t.equal(session.userId, verified.json().user.id, 'the new account logs in')
  t.equal(await count(direct, "select count(*) as n from users where email = $1 and status = 'active'", [email]), 1, 'the user is in the database')
  t.equal(await count(direct, "select count(*) as n from workspace_members where user_id = $1 and role = 'owner'", [session.userId]), 1, 'owning the new workspace')

  // A product, read from the public catalog.
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { title: 'Pooled tee', variants: [{ stock: 5 }] })
  const listed = await app.inject({ method: 'GET', url: '/products' })
  t.equal(listed.statusCode, 200)
  t.ok(listed.json().items.some((p: { id: string }) => p.id === product.id), 'the catalog lists it')
  const one = await app.inject({ method: 'GET', url: `/products/${product.id}` })
  t.equal(one.json().title, 'Pooled tee', 'and shows it')

  // Twelve carts, then twelve checkouts at once over a stock of five.
  const variantId = product.variants[0].id
  const shoppers = []
  for (let i = 0; i < 12; i++) {
    const s = await shopper(env)
    t.equal((await addToCart(env, s, variantId)).statusCode, 200)
    shoppers.push(s)
  }
  t.equal(await count(direct, 'select count(*) as n from cart_items where variant_id = $1', [variantId]), 12, 'twelve cart lines')
  const results = await Promise.all(shoppers.map((s) => checkout(env, s)))
  const statuses = results.map((r) => r.statusCode)
  t.equal(statuses.filter((s) => s === 201).length, 5, 'five orders')
  t.equal(statuses.filter((s) => s === 409).length, 7, 'seven refused')
  t.equal(await count(direct, 'select stock as n from product_variants where id = $1', [variantId]), 0, 'stock is exactly zero')
  t.equal(await count(direct, 'select count(*) as n from order_items where variant_id = $1', [variantId]), 5, 'five order lines in the database')
  t.equal(await count(direct, 'select count(*) as n from cart_items where variant_id = $1', [variantId]), 7, 'the refused carts are as they were')

  // The worker's outbox relay (FOR UPDATE SKIP LOCKED, in a transaction) moved every message.
  const outbox = await eventually(async () => {
    const total = await count(direct, 'select count(*) as n from outbox')
    const pending = await count(direct, 'select count(*) as n from outbox where relayed_at is null')
    return total > 0 && pending === 0 ? total : 0
  }, 20000)
  t.ok(outbox > 0, `all ${outbox} outbox messages relayed`)
  await env.smtp!.waitFor((m) => m.subject === 'Welcome to Bazaar' && m.to.includes(email))

  // The connections were shared: more client connections than PgBouncer's server connections.
  const backends = await count(direct, 'select count(*) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()')
  t.ok(through.clientConnections() > POOL_SIZE, `the API opened ${through.clientConnections()} connections to PgBouncer`)
  t.ok(backends <= POOL_SIZE, `Postgres served them (and the worker's) with ${backends} connections`)
}

t.test('through PgBouncer (transaction mode) with prepared statements off: sign-up, login, catalog, cart, checkout, outbox', async (t) => {
  await shopFlows(t, await throughPgBouncer(t, {}, false))
})
