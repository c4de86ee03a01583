import t from 'tap'
import pg from 'pg'
import { createTestEnv, eventually, type Tap, type TestEnv } from '../helpers/app.ts'
import { addToCart, approvedStore, checkout, createProduct, shopper, type Store } from '../helpers/commerce.ts'
import { createServer, type Socket } from 'node:net'
import { freePort } from '../../scripts/lib/local-services.ts'
import { startPostgresPair } from '../helpers/pg-replica.ts'
import { loadConfig } from '../../src/config.ts'
import type { DbTarget } from '../../src/platform/db.ts'

// Read replicas (issue 13, item 2; src/platform/db.ts, read-replica.ts). With DATABASE_READ_URL
// set, the public catalog and anonymous vendor-profile views are read from a streaming replica
// while it is caught up; writes, transactions and every read of the caller's own data from the
// primary. The replica here is a real one (pg_basebackup -R of a primary of its own), and its lag
// is real too: replay paused on it, it keeps showing the old state, so what a route returns
// tells which server answered, and so do the statements each Kysely instance ran (the replica's
// runs only on the replica's pool unless a connection to it fails).

const pair = await startPostgresPair({ database: 'bazaar' })
t.teardown(() => pair.stop())

interface ReplicaEnv {
  env: TestEnv
  /** Statements run so far by each Kysely instance. */
  counts: Record<DbTarget, number>
  /** Statements each instance runs for `fn`. */
  counted: (fn: () => Promise<unknown>) => Promise<Record<DbTarget, number>>
}

async function replicaEnv (t: Tap, readUrl = pair.replicaUrl('bazaar')): Promise<ReplicaEnv> {
  const counts: Record<DbTarget, number> = { primary: 0, replica: 0 }
  // The database is the pair's (createTestEnv's own clone on the shared server goes unused).
  // Catalog cache off: every read reaches Postgres.
  const base = await createTestEnv(t, {
    config: { databaseUrl: pair.primaryUrl('bazaar'), databaseReadUrl: readUrl, catalogCache: { ttlMs: 0, maxEntries: 0, maxBytes: 0 } },
    onQuery: (_sql, target) => { counts[target]++ }
  })
  return {
    env: base,
    counts,
    counted: async (fn) => {
      const before = { ...counts }
      await fn()
      return { primary: counts.primary - before.primary, replica: counts.replica - before.replica }
    }
  }
}

const profileOf = async (env: TestEnv, store: Store) =>
  env.app.db.selectFrom('vendorProfiles').select('id').where('userId', '=', store.ownerId).executeTakeFirstOrThrow()

async function onReplica<R extends pg.QueryResultRow> (text: string, values: unknown[]): Promise<R[]> {
  const client = new pg.Client({ connectionString: pair.replicaUrl('bazaar') })
  await client.connect()
  try {
    return (await client.query<R>(text, values)).rows
  } finally {
    await client.end()
  }
}

/** The replica has replayed everything so far and the API's watch has seen it: public reads use it. */
async function replicaInUse (env: TestEnv): Promise<void> {
  await pair.caughtUp()
  const watch = env.app.readReplica!
  await eventually(async () => { await watch.check(); return watch.usable() })
}

/** Runs the watch's checks until it reports `state` (a check already under way may predate the change). */
async function watchSees (env: TestEnv, state: string): Promise<void> {
  const watch = env.app.readReplica!
  await eventually(async () => { await watch.check(); return watch.status().state === state })
}

/** Replay paused for the rest of the test: the replica lags behind every write from now on. */
async function lagging (t: Tap): Promise<void> {
  await pair.caughtUp()
  await pair.pauseReplay()
  t.teardown(() => pair.resumeReplay())
}

t.test('catalog and anonymous vendor-profile reads run on the replica; writes and signed-in reads on the primary', async (t) => {
  const { env, counted } = await replicaEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { title: 'Zebrawood cutting board', categories: ['replica-kitchen'] })
  const profile = await profileOf(env, store)
  const { slug } = await env.app.db.selectFrom('workspaces').select('slug').where('id', '=', store.workspaceId).executeTakeFirstOrThrow()
  await replicaInUse(env)

  const anonymous: Array<[string, (body: any) => unknown, unknown]> = [
    [`/products?workspaceId=${store.workspaceId}`, (b) => b.items.map((p: any) => p.id), [product.id]],
    [`/products/${product.id}`, (b) => b.title, 'Zebrawood cutting board'],
    ['/products?q=zebrawood', (b) => b.items.map((p: any) => p.id), [product.id]],
    ['/categories', (b) => b.items.find((c: any) => c.name === 'replica-kitchen')?.count, 1],
    [`/stores/${slug}`, (b) => b.id, store.workspaceId],
    [`/vendor-profiles?q=${encodeURIComponent(store.name)}`, (b) => b.items.map((p: any) => p.id), [profile.id]],
    [`/vendor-profiles/${profile.id}`, (b) => b.businessName, store.name],
    [`/vendor-profiles/by-user/${store.ownerId}`, (b) => b.id, profile.id]
  ]
  for (const [url, pick, expected] of anonymous) {
    let res: any
    const ran = await counted(async () => { res = await env.app.inject({ method: 'GET', url }) })
    t.equal(res.statusCode, 200, url)
    t.same(pick(res.json()), expected, `${url}: the right answer`)
    t.ok(ran.replica > 0, `${url}: read on the replica (${ran.replica} statements)`)
    t.equal(ran.primary, 0, `${url}: nothing on the primary`)
  }

  // Signed in, the vendor may be reading their own change back: the primary.
  for (const url of [`/vendor-profiles/${profile.id}`, `/vendor-profiles/by-user/${store.ownerId}`, `/workspaces/${store.workspaceId}/products/${product.id}`]) {
    const ran = await counted(async () => {
      const res = await env.app.inject({ method: 'GET', url, headers: store.owner.headers })
      t.equal(res.statusCode, 200, url)
    })
    t.equal(ran.replica, 0, `${url} signed in: nothing on the replica`)
    t.ok(ran.primary > 0, `${url} signed in: read on the primary`)
  }

  const write = await counted(async () => {
    const res = await env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}/products/${product.id}`, headers: store.owner.headers, payload: { title: 'Zebrawood board' } })
    t.equal(res.statusCode, 200)
  })
  t.equal(write.replica, 0, 'a write runs nothing on the replica')
  t.ok(write.primary > 0, 'a write runs on the primary')
})

t.test('a vendor editing a product reads the edit back while the replica lags behind it', async (t) => {
  const { env } = await replicaEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { title: 'Walnut spoon', price: 1200 })
  await lagging(t)

  const edited = await env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}/products/${product.id}`, headers: store.owner.headers, payload: { title: 'Walnut serving spoon', price: { amount: 1500, currency: 'usd' } } })
  t.equal(edited.statusCode, 200)
  t.equal(edited.json().title, 'Walnut serving spoon', 'the update answers with the edit')

  const one = await env.app.inject({ method: 'GET', url: `/workspaces/${store.workspaceId}/products/${product.id}`, headers: store.owner.headers })
  t.equal(one.json().title, 'Walnut serving spoon', 'the workspace product shows the edit')
  t.equal(one.json().price.amount, 1500)
  const list = await env.app.inject({ method: 'GET', url: `/workspaces/${store.workspaceId}/products`, headers: store.owner.headers })
  t.same(list.json().items.map((p: any) => [p.id, p.title]), [[product.id, 'Walnut serving spoon']], 'so does the workspace\'s list')

  // The edit went through this API: until the replica has replayed it, public reads here go to
  // the primary, so the storefront shows it at once too (and the cache is not refilled with the old one).
  t.equal(env.app.readReplica!.usable(), false, 'the replica is skipped after a catalog write')
  const storefront = await env.app.inject({ method: 'GET', url: `/products/${product.id}` })
  t.equal(storefront.json().title, 'Walnut serving spoon', 'the public product page shows the edit')
  t.same(await onReplica('select title from products where id = $1', [product.id]), [{ title: 'Walnut spoon' }], 'which the replica has not replayed')
  await watchSees(env, 'lagging')
  t.ok(env.app.readReplica!.status().lagBytes! > 0, 'the watch sees the replica behind')

  await pair.resumeReplay()
  await replicaInUse(env)
  const back = await env.app.inject({ method: 'GET', url: `/products/${product.id}` })
  t.equal(back.json().title, 'Walnut serving spoon', 'replay resumed, the replica serves the edit')
})

t.test('a change made elsewhere while the replica lags: public reads leave the replica within two checks', async (t) => {
  const { env, counted } = await replicaEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { title: 'Cherry bowl' })
  await replicaInUse(env)
  t.same(await counted(() => env.app.inject({ method: 'GET', url: `/products/${product.id}` })), { primary: 0, replica: 1 }, 'read on the replica')
  await lagging(t)
  // Another API copy's write, for this process: straight to the primary.
  await env.app.db.updateTable('products').set({ title: 'Cherry fruit bowl' }).where('id', '=', product.id).execute()
  await watchSees(env, 'lagging')
  t.equal(env.app.readReplica!.status().state, 'lagging')
  let res: any
  const ran = await counted(async () => { res = await env.app.inject({ method: 'GET', url: `/products/${product.id}` }) })
  t.same(ran, { primary: 1, replica: 0 }, 'read on the primary')
  t.equal(res.json().title, 'Cherry fruit bowl', 'with the change')
  await pair.resumeReplay()
  await replicaInUse(env)
  t.same(await counted(() => env.app.inject({ method: 'GET', url: `/products/${product.id}` })), { primary: 0, replica: 1 }, 'caught up, back on the replica')
  const health = await env.app.inject({ method: 'GET', url: '/health/database' })
  t.same(health.json().replica, { state: 'caught-up', lagBytes: 0 }, '/health/database shows the replica')
})

t.test('a customer sees the order just placed while the replica lags behind it', async (t) => {
  const { env } = await replicaEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { price: 2000, variants: [{ stock: 10 }] })
  const buyer = await shopper(env)
  t.equal((await addToCart(env, buyer, product.variants[0].id, 2)).statusCode, 200)
  await lagging(t)

  const placed = await checkout(env, buyer)
  t.equal(placed.statusCode, 201, placed.body)
  const [order] = placed.json().orders
  t.ok(order?.id, 'one order placed')

  const mine = await env.app.inject({ method: 'GET', url: `/orders/${order.id}`, headers: buyer.session.headers })
  t.equal(mine.statusCode, 200, 'the customer opens the order at once')
  t.equal(mine.json().id, order.id)
  t.same(mine.json().total, order.total, 'with the total the checkout answered')
  t.same(mine.json().total, { amount: 4000, currency: 'usd' }, '2 × 2000')
  t.same(mine.json().items.map((i: any) => [i.variantId, i.quantity]), [[product.variants[0].id, 2]], 'and its line')
  const list = await env.app.inject({ method: 'GET', url: '/orders', headers: buyer.session.headers })
  t.same(list.json().items.map((o: any) => o.id), [order.id], 'and finds it in their orders')
  const vendor = await env.app.inject({ method: 'GET', url: `/workspaces/${store.workspaceId}/orders/${order.id}`, headers: store.owner.headers })
  t.equal(vendor.statusCode, 200, 'the vendor sees it too')

  t.same(await onReplica('select id from orders where id = $1', [order.id]), [], 'the replica does not have the order yet')
  await watchSees(env, 'lagging')
  const stock = await env.app.inject({ method: 'GET', url: `/products/${product.id}` })
  t.equal(stock.json().variants[0].stock, 8, 'the replica lags, so the catalog reads the primary: the stock the order took')
})

t.test('a replica that cannot be reached, or accepts and never answers: public reads go to the primary', async (t) => {
  const silent: Socket[] = []
  const listener = createServer((socket) => { silent.push(socket) })
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of silent) s.destroy(); listener.close() })
  const hosts = {
    refused: `postgres://postgres:postgres@127.0.0.1:${await freePort()}/bazaar`,
    silent: `postgres://postgres:postgres@127.0.0.1:${(listener.address() as { port: number }).port}/bazaar`
  }
  for (const [kind, url] of Object.entries(hosts)) {
    const { env, counted } = await replicaEnv(t, url)
    t.equal(env.app.readReplica!.status().state, 'unreachable', `${kind}: seen at start`)
    const store = await approvedStore(env)
    const product = await createProduct(env, store, { title: 'Ash bowl' })
    const answers: any[] = []
    const ran = await counted(async () => {
      answers.push(...await Promise.all(Array.from({ length: 10 }, () => env.app.inject({ method: 'GET', url: `/products/${product.id}` }))))
    })
    t.same(answers.map((r) => [r.statusCode, r.json().title]), Array(10).fill([200, 'Ash bowl']), `${kind}: ten parallel reads answer, up to date`)
    t.same(ran, { primary: 10, replica: 0 }, `${kind}: all on the primary, none waiting for the replica`)
  }
})

t.test('without DATABASE_READ_URL every read uses the primary; a bad one is refused at start', async (t) => {
  const env = await createTestEnv(t, { config: { databaseReadUrl: undefined } })
  t.equal(env.app.dbRead, env.app.db, 'dbRead is the primary\'s Kysely')
  t.equal(env.app.deps.readDb, env.app.deps.db, 'and so is deps.readDb')
  t.throws(() => loadConfig({ NODE_ENV: 'test', DATABASE_READ_URL: 'mysql://127.0.0.1/bazaar' }), /DATABASE_READ_URL/)
  t.equal(loadConfig({ NODE_ENV: 'test', DATABASE_READ_URL: 'postgres://replica.internal:5432/bazaar' }).databaseReadUrl, 'postgres://replica.internal:5432/bazaar')
})

t.test('the test engine\'s synchronous pair: a write is on the replica as soon as its commit returns', async (t) => {
  // What a whole suite run against a replica needs (every test reads back what it just wrote).
  const synchronous = await startPostgresPair({ synchronous: true })
  t.teardown(() => synchronous.stop())
  const primary = new pg.Client({ connectionString: synchronous.primaryUrl() })
  const replica = new pg.Client({ connectionString: synchronous.replicaUrl() })
  await Promise.all([primary.connect(), replica.connect()])
  t.teardown(() => Promise.all([primary.end(), replica.end()]))
  await primary.query('create table marks (n int)')
  for (let n = 1; n <= 20; n++) {
    await primary.query('insert into marks values ($1)', [n])
    const { rows } = await replica.query<{ count: number }>('select count(*)::int as count from marks')
    if (rows[0]!.count !== n) t.fail(`after insert ${n} the replica has ${rows[0]!.count}`)
  }
  t.pass('each of 20 commits was readable on the replica at once')
  await t.rejects(replica.query('insert into marks values (0)'), /read-only transaction/, 'the replica refuses writes')
  await t.rejects(synchronous.pauseReplay(), /cannot be paused/)
})

// Last: it stops the file's replica for good.
t.test('the replica going down while the API runs: the catalog keeps answering, from the primary', async (t) => {
  const { env, counted } = await replicaEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { title: 'Oak tray' })
  await replicaInUse(env)
  const warm = await counted(async () => {
    t.equal((await env.app.inject({ method: 'GET', url: `/products/${product.id}` })).json().title, 'Oak tray')
  })
  t.same(warm, { primary: 0, replica: 1 }, 'read on the replica while it runs')

  await pair.stopReplica()
  const renamed = await env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}/products/${product.id}`, headers: store.owner.headers, payload: { title: 'Oak serving tray' } })
  t.equal(renamed.statusCode, 200)
  // At once, before the watch's next check: a read sent to the replica whose connection fails is
  // served by the primary (the new title is only there: the replica stopped before it was written).
  const first = await env.app.inject({ method: 'GET', url: `/products/${product.id}` })
  t.same([first.statusCode, first.json().title], [200, 'Oak serving tray'], 'the first read answers, from the primary')
  await watchSees(env, 'unreachable')
  t.equal(env.app.readReplica!.usable(), false, 'the watch sees the replica gone')
  for (let i = 0; i < 3; i++) {
    const ran = await counted(async () => {
      const res = await env.app.inject({ method: 'GET', url: `/products/${product.id}` })
      t.same([res.statusCode, res.json().title], [200, 'Oak serving tray'], `read ${i + 2} answers, up to date`)
    })
    t.same(ran, { primary: 1, replica: 0 }, 'on the primary, without trying the replica')
  }
})
