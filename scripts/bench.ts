import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import autocannon from 'autocannon'
import { loadConfigOrExit } from '../src/config.ts'
import { childEnv, devSecretsEnv } from './lib/dev-env.ts'
import { freePort, provideLocalServices } from './lib/local-services.ts'
import { migrateToLatest } from '../src/platform/migrator.ts'
import { systemRandom } from '../src/platform/clock.ts'

// npm run bench [-- --duration 5 --rounds 3 --connections 50 --only health|auth|commerce]
// Starts the full API (the real server entry, in its own process, logging at info) and a bare
// Fastify hello-world, drives each with autocannon from this process, and prints a table.
// Scenarios that are compared run in alternation, `rounds` times each, and the median of each
// is reported: on a small shared machine one run can be off by a fifth either way.

const args = process.argv.slice(2)
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback
}
const duration = Number(option('duration', '5'))
const rounds = Number(option('rounds', '3'))
const connections = Number(option('connections', '50'))
const only = option('only', '')

// The data folder's development secrets, unless the environment or .env sets them.
const secrets = devSecretsEnv(childEnv({ NODE_ENV: 'development' }))
const config = loadConfigOrExit(childEnv({ NODE_ENV: 'development', ...secrets }))
const services = await provideLocalServices({
  dataDir: config.dataDir,
  databaseUrl: config.databaseUrlSet ? config.databaseUrl : undefined,
  redisUrl: config.redisUrlSet ? config.redisUrl : undefined,
  database: 'bazaar_bench',
  log: { info: (msg) => process.stderr.write(`[services] ${msg}\n`) }
})
await migrateToLatest(services.databaseUrl)

async function startProcess (file: string, env: Record<string, string>): Promise<{ child: ChildProcess, url: string }> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', file, String(port)], {
    env: childEnv({ PORT: String(port), ...env }),
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 300; i++) {
    if (await fetch(`${url}/health/live`).then((r) => r.ok, () => false)) return { child, url }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  child.kill('SIGKILL')
  throw new Error(`${file} did not start`)
}

export interface Result { name: string, requests: number, p50: number, p99: number, errors: number, non2xx: number, cpuUsPerRequest: number | null }

/** CPU time (user + system, µs) a process has used so far; null where /proc is missing. */
function cpuTimeUs (pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * (1e6 / CLOCK_TICKS)
  } catch {
    return null
  }
}
const CLOCK_TICKS = 100

async function run (url: string, options: Partial<autocannon.Options> = {}): Promise<autocannon.Result> {
  return autocannon({ url, connections, duration, ...options })
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

/** Runs the scenarios in alternation for `rounds` rounds; reports the median of each. */
async function compare (scenarios: Array<{ name: string, url: string, pid: number | undefined, options?: Partial<autocannon.Options> }>, times = rounds): Promise<Result[]> {
  for (const s of scenarios) await run(s.url, { ...s.options, duration: 2 }) // warm-up
  const runs: autocannon.Result[][] = scenarios.map(() => [])
  const cpu: number[][] = scenarios.map(() => [])
  for (let round = 0; round < times; round++) {
    for (const [i, s] of scenarios.entries()) {
      const before = cpuTimeUs(s.pid)
      const result = await run(s.url, s.options)
      const after = cpuTimeUs(s.pid)
      runs[i]!.push(result)
      if (before !== null && after !== null && result.requests.total > 0) cpu[i]!.push((after - before) / result.requests.total)
    }
  }
  return scenarios.map((s, i) => ({
    cpuUsPerRequest: cpu[i]!.length ? Math.round(median(cpu[i]!) * 10) / 10 : null,
    name: s.name,
    requests: Math.round(median(runs[i]!.map((r) => r.requests.average))),
    p50: median(runs[i]!.map((r) => r.latency.p50)),
    p99: median(runs[i]!.map((r) => r.latency.p99)),
    errors: runs[i]!.reduce((sum, r) => sum + r.errors, 0),
    non2xx: runs[i]!.reduce((sum, r) => sum + r.non2xx, 0)
  }))
}

const apiEnv = {
  NODE_ENV: 'development',
  ...secrets,
  LOG_LEVEL: 'info',
  DATABASE_URL: services.databaseUrl,
  REDIS_URL: services.redisUrl,
  RATE_LIMIT_MAX: '1000000000',
  AUTH_RATE_LIMIT_MAX: '1000000000',
  REDIS_PREFIX: 'bench:'
}

const api = await startProcess('src/server.ts', apiEnv)
const bare = await startProcess('scripts/bench/bare-server.ts', {})
const results: Result[] = []
const ratios: Array<{ name: string, value: number, target: string }> = []
const wanted = (group: string) => !only || only === group

/** A user in the bench database to sign in as (created once, reused). */
async function benchUser (): Promise<{ email: string, password: string }> {
  const email = 'bench-user@example.test'
  const password = 'bench password 123'
  const { createDatabase } = await import('../src/platform/db.ts')
  const { findUserByEmail, insertUser } = await import('../src/modules/users/public.ts')
  const { hashPassword } = await import('../src/platform/passwords.ts')
  const database = createDatabase({ databaseUrl: services.databaseUrl, databasePoolMax: 2 })
  if (!await findUserByEmail(database.db, email)) {
    await insertUser(database.db, { email, name: 'Bench User', type: 'customer', status: 'active', passwordHash: await hashPassword(password), verifiedAt: new Date() }, systemRandom)
  }
  await database.destroy()
  return { email, password }
}

/** Sequential GETs for `duration` seconds on one keep-alive connection; latencies in ms. */
async function probeLatency (url: string): Promise<{ count: number, p50: number, p99: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const get = () => new Promise<void>((resolve, reject) => {
    http.get(url, { agent }, (res) => { res.resume(); res.on('end', resolve) }).on('error', reject)
  })
  const latencies: number[] = []
  const deadline = Date.now() + duration * 1000
  while (Date.now() < deadline) {
    const started = process.hrtime.bigint()
    await get()
    latencies.push(Number(process.hrtime.bigint() - started) / 1e6)
  }
  agent.destroy()
  latencies.sort((a, b) => a - b)
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))]! * 100) / 100
  return { count: latencies.length, p50: at(0.5), p99: at(0.99) }
}

/**
 * The catalog, cart and checkout on the seeded catalog (`npm run seed` data: 1,240 products).
 * SQL statements per request are counted in this process on an app built with a query
 * listener; throughput is measured on the separate API process.
 */
async function commerce (): Promise<void> {
  const pino = (await import('pino')).default
  const { connectDeps } = await import('../src/platform/deps.ts')
  const { seed, DEMO_PASSWORD } = await import('./seed.ts')
  const { addAddress } = await import('../src/modules/users/public.ts')
  const { buildApp } = await import('../src/app.ts')
  const benchConfig = { ...config, databaseUrl: services.databaseUrl, redisUrl: services.redisUrl, redisPrefix: 'bench:', logLevel: 'warn' }
  const { redisScripts } = await import('../src/redis-scripts.ts')
  const { deps, close } = await connectDeps(benchConfig, { log: pino({ level: 'warn' }) as never, scripts: redisScripts })
  try {
    const seeded = await seed(deps)
    if (seeded.products) process.stderr.write(`[bench] seeded ${seeded.products} products\n`)
    const product = await deps.db.selectFrom('products').innerJoin('productVariants as v', 'v.productId', 'products.id')
      .select(['products.id', 'v.id as variantId']).where('products.isActive', '=', true).where('products.currency', '=', 'usd').orderBy('products.id').limit(1).executeTakeFirstOrThrow()
    // One variant with stock enough for every add and checkout of the run.
    await deps.db.updateTable('productVariants').set({ stock: 1_000_000_000 }).where('id', '=', product.variantId).execute()

    // Statements per request, counted on an app built in this process.
    let statements = 0
    const counted = await buildApp({ ...benchConfig, logLevel: 'silent' }, { onQuery: () => { statements++ } })
    await counted.ready()
    for (const url of ['/products?limit=20', '/products?q=linen%20shirt&limit=20', '/products?sort=price_asc&category=shirts&limit=20', `/products/${product.id}`]) {
      await counted.inject({ url }) // warm
      statements = 0
      const res = await counted.inject({ url })
      ratios.push({ name: `SQL statements for GET ${url.replace(product.id, ':id')} (${res.statusCode})`, value: statements, target: '≤ 2' })
    }
    await counted.close()

    const catalog = await compare([
      { name: 'Bazaar GET /products?limit=20', url: `${api.url}/products?limit=20`, pid: api.child.pid },
      { name: 'Bazaar GET /products?q=linen shirt&limit=20', url: `${api.url}/products?q=linen%20shirt&limit=20`, pid: api.child.pid },
      { name: 'Bazaar GET /products/:id', url: `${api.url}/products/${product.id}`, pid: api.child.pid }
    ])
    results.push(...catalog)

    // Eight shoppers, so checkouts overlap as they would in production.
    const { hashPassword } = await import('../src/platform/passwords.ts')
    const { findUserByEmail, insertUser } = await import('../src/modules/users/public.ts')
    const customers = Array.from({ length: 8 }, (_, i) => `bench-shopper-${i}@example.test`)
    const passwordHash = await hashPassword(DEMO_PASSWORD)
    for (const email of customers) {
      if (!await findUserByEmail(deps.db, email)) await insertUser(deps.db, { email, name: 'Bench Shopper', type: 'customer', status: 'active', passwordHash, verifiedAt: deps.clock.now() }, deps.random)
    }
    const sessions: string[] = []
    for (const email of customers) {
      const res = await fetch(`${api.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: DEMO_PASSWORD }) })
      sessions.push(`Bearer ${((await res.json()) as { tokens: { accessToken: string } }).tokens.accessToken}`)
    }
    // Adds rotate over eight shoppers and ten variants: carts of realistic size, no line near
    // the 999 limit.
    const hot = await deps.db.selectFrom('productVariants').innerJoin('products as p', 'p.id', 'productVariants.productId')
      .select('productVariants.id').where('p.isActive', '=', true).where('p.currency', '=', 'usd').orderBy('productVariants.id').limit(10).execute()
    await deps.db.updateTable('productVariants').set({ stock: 1_000_000_000 }).where('id', 'in', hot.map((v) => v.id)).execute()
    const shopperIds = await deps.db.selectFrom('users').select('id').where('email', 'in', customers).execute()
    await deps.db.deleteFrom('cartItems').where('userId', 'in', shopperIds.map((u) => u.id)).execute()
    let added = 0
    const [add] = await compare([{
      name: 'Bazaar POST /cart/items',
      url: `${api.url}/cart/items`,
      pid: api.child.pid,
      options: {
        method: 'POST',
        requests: [{
          setupRequest: (request) => {
            const n = added++
            return { ...request, headers: { 'content-type': 'application/json', authorization: sessions[n % sessions.length]! }, body: JSON.stringify({ variantId: hot[Math.floor(n / sessions.length) % hot.length]!.id, quantity: 1 }) }
          }
        }]
      }
    }], 1)
    results.push(add!)

    // Checkout: each of `workers` customers loops add-to-cart then POST /orders (a new key each
    // time); the checkout request alone is timed. Payments go to the local simulator.
    const users = await deps.db.selectFrom('users').select(['id', 'email']).where('email', 'in', customers).execute()
    for (const user of users) await deps.db.deleteFrom('cartItems').where('userId', '=', user.id).execute()
    const addresses = new Map<string, string>()
    for (const user of users) addresses.set(user.email, (await addAddress(deps, user.id, { street: '1 Bench Way', city: 'Loadtown', zipCode: '10101', country: 'US' })).id)
    const latencies: number[] = []
    let failures = 0
    const deadline = Date.now() + duration * 1000
    const started = Date.now()
    await Promise.all(customers.map(async (email, i) => {
      const headers = { 'content-type': 'application/json', authorization: sessions[i]! }
      let n = 0
      while (Date.now() < deadline) {
        await fetch(`${api.url}/cart/items`, { method: 'POST', headers, body: JSON.stringify({ variantId: product.variantId, quantity: 1 }) }).then((r) => r.arrayBuffer())
        const t0 = performance.now()
        const res = await fetch(`${api.url}/orders`, { method: 'POST', headers: { ...headers, 'idempotency-key': `bench-${process.pid}-${i}-${n++}` }, body: JSON.stringify({ shippingAddressId: addresses.get(email) }) })
        await res.arrayBuffer()
        latencies.push(performance.now() - t0)
        if (res.status !== 201) failures++
      }
    }))
    const elapsed = (Date.now() - started) / 1000
    latencies.sort((a, b) => a - b)
    const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))]! * 100) / 100
    results.push({ name: `Bazaar POST /orders (${customers.length} customers, add + checkout)`, requests: Math.round(latencies.length / elapsed), p50: at(0.5), p99: at(0.99), errors: 0, non2xx: failures, cpuUsPerRequest: null })
  } finally {
    await close()
  }
}

async function argon2PerSecond (): Promise<number> {
  const { HASHING_CONCURRENCY } = await import('../src/platform/passwords.ts')
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/argon2-loop.ts', String(duration), String(HASHING_CONCURRENCY)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (chunk) => { out += chunk })
  await new Promise((resolve) => child.on('exit', resolve))
  return (JSON.parse(out) as { perSecond: number }).perSecond
}

try {
  if (wanted('health')) {
    const [bareHealth, appHealth, ready] = await compare([
      { name: 'bare Fastify GET /health/live', url: `${bare.url}/health/live`, pid: bare.child.pid },
      { name: 'Bazaar GET /health/live (full app)', url: `${api.url}/health/live`, pid: api.child.pid },
      { name: 'Bazaar GET /health/ready (Postgres + Redis)', url: `${api.url}/health/ready`, pid: api.child.pid }
    ])
    results.push(bareHealth!, appHealth!, ready!)
    ratios.push({ name: 'health/live req/s: full app ÷ bare Fastify', value: appHealth!.requests / bareHealth!.requests, target: '≥ 0.85' })
    if (appHealth!.cpuUsPerRequest && bareHealth!.cpuUsPerRequest) {
      // Server CPU per request is steadier than req/s on a shared machine: it leaves out time
      // the VM was not scheduled. Its inverse ratio is the req/s ratio on a dedicated core.
      ratios.push({ name: 'health/live CPU per request: bare ÷ full app', value: bareHealth!.cpuUsPerRequest / appHealth!.cpuUsPerRequest, target: '≥ 0.85' })
    }
  }

  if (wanted('auth')) {
    const user = await benchUser()
    const loginRequest = {
      method: 'POST' as const,
      headers: { 'content-type': 'application/json', 'user-agent': 'bench' },
      body: JSON.stringify({ email: user.email, password: user.password })
    }
    const signedIn = await fetch(`${api.url}/auth/login`, loginRequest).then((r) => r.json()) as { tokens: { accessToken: string } }
    const authorization = `Bearer ${signedIn.tokens.accessToken}`

    // Sign-in is argon2-bound: compare it with the bare verification rate of this machine.
    const verifies: number[] = []
    const logins: Result[] = []
    for (let round = 0; round < rounds; round++) {
      verifies.push(await argon2PerSecond())
      const [login] = await compare([{ name: 'Bazaar POST /auth/login', url: `${api.url}/auth/login`, pid: api.child.pid, options: { ...loginRequest, connections: 8 } }], 1)
      logins.push(login!)
    }
    const login = logins.sort((a, b) => a.requests - b.requests)[Math.floor(logins.length / 2)]!
    const argon = median(verifies)
    results.push({ name: 'bare argon2id verify loop (same concurrency)', requests: Math.round(argon), p50: 0, p99: 0, errors: 0, non2xx: 0, cpuUsPerRequest: null }, login)
    ratios.push({ name: 'login req/s ÷ bare argon2 verifications/s', value: login.requests / argon, target: '≥ 0.85' })

    // Hashing runs on the thread pool, at most (cores - 1) at a time: a login storm must not
    // stall the event loop. A probe client times one request at a time, in microseconds.
    const idle = await probeLatency(`${api.url}/health/live`)
    const storm = run(`${api.url}/auth/login`, { ...loginRequest, connections: 16, duration: duration + 1 })
    await new Promise((resolve) => setTimeout(resolve, 500))
    const during = await probeLatency(`${api.url}/health/live`)
    const stormResult = await storm
    results.push(
      { name: 'GET /health/live, one at a time, idle', requests: Math.round(idle.count / duration), p50: idle.p50, p99: idle.p99, errors: 0, non2xx: 0, cpuUsPerRequest: null },
      { name: 'GET /health/live, one at a time, login storm', requests: Math.round(during.count / duration), p50: during.p50, p99: during.p99, errors: 0, non2xx: stormResult.non2xx, cpuUsPerRequest: null }
    )
    ratios.push({ name: 'health p99 during a login storm ÷ idle p99', value: during.p99 / idle.p99, target: '≤ 2' })

    const [me, live] = await compare([
      { name: 'Bazaar GET /auth/me', url: `${api.url}/auth/me`, pid: api.child.pid, options: { headers: { authorization } } },
      { name: 'Bazaar GET /health/live', url: `${api.url}/health/live`, pid: api.child.pid }
    ])
    results.push(me!, live!)
    ratios.push({ name: 'GET /auth/me req/s ÷ GET /health/live req/s', value: me!.requests / live!.requests, target: '≥ 0.5' })
  }

  if (wanted('commerce')) await commerce()
} finally {
  api.child.kill('SIGTERM')
  bare.child.kill('SIGTERM')
  await services.stop()
}

const pad = (value: string | number, width: number) => String(value).padStart(width)
console.log(`\nautocannon: ${connections} connections, ${duration} s per run, median of ${rounds} alternating runs\n`)
console.log(`${'scenario'.padEnd(48)}${pad('req/s', 10)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('CPU µs/req', 12)}${pad('errors', 8)}${pad('non-2xx', 9)}`)
for (const r of results) console.log(`${r.name.padEnd(48)}${pad(r.requests, 10)}${pad(r.p50, 9)}${pad(r.p99, 9)}${pad(r.cpuUsPerRequest ?? '-', 12)}${pad(r.errors, 8)}${pad(r.non2xx, 9)}`)
console.log('')
for (const ratio of ratios) console.log(`${ratio.name.padEnd(52)}${pad(ratio.value.toFixed(2), 10)}   target ${ratio.target}`)
