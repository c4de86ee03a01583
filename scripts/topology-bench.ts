import { availableParallelism } from 'node:os'
import autocannon from 'autocannon'
import pino from 'pino'
import { loadConfig } from '../src/config.ts'
import { connectDeps, type Deps } from '../src/platform/deps.ts'
import { redisScripts } from '../src/redis-scripts.ts'
import { startTopology, type Topology } from './lib/topology.ts'
import type { AppProcess } from './lib/topology-processes.ts'
import { cpuBetween, cpuSnapshot, findProcesses, postmasterOnPort, type CpuGroup, type CpuUse } from './lib/bench-cpu.ts'
import { benchShoppers, checkoutLoad, type BenchShopper } from './lib/bench-checkout.ts'
import { benchOption, median } from './lib/bench-stats.ts'
import { DEMO_PASSWORD, seed } from './seed.ts'

// npm run bench:topology [-- --duration 10 --rounds 3 --connections 50 --shoppers 8 --catalog-cache-ms 1000]
// The scale-out topology (scripts/lib/topology.ts: 2 API and 2 worker processes, Redis Cluster,
// Postgres primary + streaming replica, PgBouncer) under the catalog and checkout loads of
// scripts/bench.ts, with 1 API process taking all the load, then 2 sharing the same load
// generator concurrency. Scenarios run in alternation (the order reversed every other round, so
// a drift of the shared machine falls on both sides), `rounds` times; medians are reported,
// with each process class's CPU from /proc over the same seconds, to show where it saturates.

const args = process.argv.slice(2)
const duration = Number(benchOption(args, 'duration', '10'))
const rounds = Number(benchOption(args, 'rounds', '3'))
const connections = Number(benchOption(args, 'connections', '50'))
const shopperCount = Number(benchOption(args, 'shoppers', '8'))
const catalogCacheMs = benchOption(args, 'catalog-cache-ms', '')
const started = performance.now()
const seconds = (from: number) => Math.round((performance.now() - from) / 1000)
const log = { info: (msg: string) => process.stderr.write(`[topology] ${msg}\n`) }

interface Measure { reqPerSec: number, p50: number, p99: number, errors: number, non2xx: number, cpu: CpuUse }
type Kind = 'list' | 'id' | 'checkout'
const KINDS: Kind[] = ['list', 'id', 'checkout']
const SCENARIO_NAMES: Record<Kind, string> = {
  list: 'GET /products?limit=20',
  id: 'GET /products/:id',
  checkout: `checkout (${shopperCount} shoppers: add + POST /orders)`
}
interface Scenario { name: string, apis: number, kind: Kind }
/** Characters of one API's log past which it is replaced (V8's longest string is 2^29 - 24). */
const LOG_LIMIT = Number(benchOption(args, 'log-limit', '200000000'))

/** autocannon's per-instance result (skipAggregateResult), which aggregateResult merges exactly. */
interface RawResult { totalCompletedRequests: number, duration: number, errors: number, timeouts: number, non2xx: number }
const aggregate = (autocannon as unknown as { aggregateResult: (results: RawResult[], opts: { url: string, connections: number }) => autocannon.Result }).aggregateResult

/** `connections` split over `apis`, one autocannon per API at once; latencies merged from their histograms. */
async function catalogLoad (apis: AppProcess[], path: string, seconds: number): Promise<Omit<Measure, 'cpu'>> {
  const each = Math.floor(connections / apis.length)
  const raw = await Promise.all(apis.map((api) => autocannon({ url: `${api.url}${path}`, connections: each, duration: seconds, skipAggregateResult: true }) as unknown as Promise<RawResult>))
  const merged = aggregate(raw, { url: `${apis[0]!.url}${path}`, connections })
  const completed = raw.reduce((sum, r) => sum + r.totalCompletedRequests, 0)
  return {
    reqPerSec: Math.round(completed / Math.max(...raw.map((r) => r.duration))),
    p50: merged.latency.p50,
    p99: merged.latency.p99,
    errors: merged.errors,
    non2xx: merged.non2xx
  }
}

/** The catalog and the shoppers' variants, seeded on the primary directly. */
async function prepare (deps: Deps, topology: Topology): Promise<{ productId: string, variantIds: string[], shoppers: BenchShopper[] }> {
  const seeded = await seed(deps)
  log.info(`seeded ${seeded.products} products on the primary`)
  const variants = await deps.db.selectFrom('productVariants').innerJoin('products as p', 'p.id', 'productVariants.productId')
    .select(['p.id as productId', 'productVariants.id']).where('p.isActive', '=', true).where('p.currency', '=', 'usd')
    .orderBy('productVariants.id').limit(shopperCount).execute()
  // A variant of its own per shopper, with stock for every checkout of the run: the load is the
  // checkout path, not one hot stock row every order waits on.
  await deps.db.updateTable('productVariants').set({ stock: 1_000_000_000 }).where('id', 'in', variants.map((v) => v.id)).execute()
  const shoppers = await benchShoppers(deps, topology.apis[0]!.url, shopperCount, DEMO_PASSWORD)
  return { productId: variants[0]!.productId, variantIds: variants.map((v) => v.id), shoppers }
}

function cpuGroups (topology: Topology, apis: AppProcess[]): CpuGroup[] {
  const port = (url: string) => Number(new URL(url).port)
  const postmaster = (url: string) => {
    const pid = postmasterOnPort(port(url))
    if (pid === undefined) throw new Error(`no postmaster found on port ${port(url)}`)
    return pid
  }
  const redis = findProcesses(({ ppid, comm }) => ppid === process.pid && comm.startsWith('redis-server')).sort((a, b) => a - b)
  return [
    { name: 'API', pids: apis.map((a) => a.pid) },
    { name: 'workers', pids: topology.workers.map((w) => w.pid) },
    { name: 'Postgres primary', pids: [postmaster(topology.primaryUrl())], tree: true },
    { name: 'replica', pids: [postmaster(topology.replicaUrl())], tree: true },
    { name: 'PgBouncer', pids: [topology.pgbouncer.pid] },
    { name: `Redis (${redis.length} nodes)`, pids: redis },
    // autocannon, the checkout clients, and the collector of the processes' logs (their pipes end here).
    { name: 'load generator', pids: [process.pid] }
  ]
}

/**
 * Waits (60 s at most) until the outbox is relayed and the queues are idle: the emails of one
 * run's orders are that run's work, and must not load the next run's workers. Returns the ms waited.
 */
async function settle (deps: Deps): Promise<number> {
  const from = performance.now()
  while (performance.now() - from < 60_000) {
    const outbox = await deps.db.selectFrom('outbox').select((eb) => eb.fn.countAll<string>().as('n')).where('relayedAt', 'is', null).executeTakeFirstOrThrow()
    const queued = await Promise.all(Object.values(deps.queues).map((q) => q.getJobCounts('waiting', 'active')))
    if (Number(outbox.n) + queued.reduce((sum, c) => sum + (c.waiting ?? 0) + (c.active ?? 0), 0) === 0) break
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  return Math.round(performance.now() - from)
}

async function measured (groups: CpuGroup[], run: () => Promise<Omit<Measure, 'cpu'>>): Promise<Measure> {
  const before = cpuSnapshot(groups)
  const result = await run()
  return { ...result, cpu: cpuBetween(groups, before, cpuSnapshot(groups)) }
}

const topology = await startTopology({
  apis: 2,
  workers: 2,
  log,
  env: {
    RATE_LIMIT_MAX: '1000000000',
    AUTH_RATE_LIMIT_MAX: '1000000000',
    // The shoppers sign in once, before the rounds: their access tokens must outlast the run.
    ACCESS_TOKEN_TTL: '86400',
    ...(catalogCacheMs ? { CATALOG_CACHE_TTL_MS: catalogCacheMs } : {})
  }
})
const startedIn = seconds(started)
const rows: Array<{ scenario: Scenario, runs: Measure[] }> = []
let idle: CpuUse | undefined
let groups: CpuGroup[] = []
const measuring = performance.now()
let measuredIn = 0
// The API processes now serving (one is replaced when its log grows too long, see below).
const apis = [...topology.apis]
const logChars = apis.map(() => 0)
let replaced = 0
let close = async () => {}
try {
  // The script's own connections: the primary directly, and the cluster.
  const config = loadConfig({ ...topology.env, DATABASE_URL: topology.primaryUrl(), LOG_LEVEL: 'warn' })
  const connected = await connectDeps(config, { log: pino({ level: 'warn' }), scripts: redisScripts })
  const deps = connected.deps
  close = connected.close
  const { productId, variantIds, shoppers } = await prepare(deps, topology)
  const load = async (kind: Kind, on: AppProcess[], secs: number, label: string) => {
    if (kind !== 'checkout') return catalogLoad(on, kind === 'list' ? '/products?limit=20' : `/products/${productId}`, secs)
    await deps.db.deleteFrom('cartItems').where('userId', 'in', shoppers.map((s) => s.userId)).execute()
    const runs = shoppers.map((shopper, i) => ({ apiUrl: on[i % on.length]!.url, shopper, variantId: variantIds[i % variantIds.length]! }))
    const result = await checkoutLoad(runs, secs, `${label}-${Date.now()}`)
    return { reqPerSec: result.ordersPerSecond, p50: result.p50, p99: result.p99, errors: result.errors, non2xx: result.non2xx }
  }
  const serving = (count: number) => apis.slice(0, count)
  const warmDuration = Math.min(2, duration)
  const warm = async (on: AppProcess[]) => {
    for (const kind of KINDS) await load(kind, on, warmDuration, 'warm')
  }
  // Each API's log is kept whole, as one string, by topology-processes.ts, and a string cannot
  // pass 2^29 characters: an API past LOG_LIMIT is replaced (and warmed) before the next run.
  const replaceLongLogs = async () => {
    for (const [i, api] of apis.entries()) {
      const chars = api.output().length
      if (chars < LOG_LIMIT) continue
      log.info(`replacing ${api.name} (${Math.round(chars / 1e6)} MB of log held in memory)`)
      const fresh = await topology.start('api')
      await api.stop()
      logChars[i]! += chars
      apis[i] = fresh
      replaced++
      await warm([fresh])
      groups = cpuGroups(topology, apis)
    }
  }
  groups = cpuGroups(topology, apis)
  const scenarios: Scenario[] = KINDS.flatMap((kind) => [1, 2].map((count) => ({ name: SCENARIO_NAMES[kind], apis: count, kind })))
  // The background: outbox relays, schedulers, replication, and whatever else the machine runs.
  idle = await measured(groups, async () => {
    await new Promise((resolve) => setTimeout(resolve, 3000))
    return { reqPerSec: 0, p50: 0, p99: 0, errors: 0, non2xx: 0 }
  }).then((m) => m.cpu)
  log.info(`warming up (${warmDuration} s per scenario)`)
  for (const s of scenarios) await load(s.kind, serving(s.apis), warmDuration, 'warm')
  for (const s of scenarios) rows.push({ scenario: s, runs: [] })
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? rows : [...rows].reverse()
    for (const row of order) {
      await replaceLongLogs()
      const waited = await settle(deps)
      log.info(`round ${round + 1}/${rounds}: ${row.scenario.name}, ${row.scenario.apis} API (after ${waited} ms for the workers to finish earlier work)`)
      const { kind, apis: count } = row.scenario
      row.runs.push(await measured(groups, () => load(kind, serving(count), duration, `r${round}`)))
    }
  }
  measuredIn = seconds(measuring)
  for (const [i, api] of apis.entries()) logChars[i]! += api.output().length
} finally {
  await close()
  await topology.stop()
}

// The report: medians of each figure over the rounds; errors and non-2xx summed.
const pct = (values: number[]) => `${Math.round(median(values))}`
const cpuOf = (runs: Measure[], group: number) => runs.map((r) => r.cpu.groups[group]!)
const cell = (runs: Measure[], group: number) => {
  const g = cpuOf(runs, group)
  if (g[0]!.perProcess.length === 1) return pct(g.map((x) => x.total))
  return `${pct(g.map((x) => x.total))} (${g[0]!.perProcess.map((_, j) => pct(g.map((x) => x.perProcess[j]!))).join(' + ')})`
}
const header = ['scenario', 'APIs', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', ...groups.map((g) => `${g.name} CPU %`), 'machine CPU %', 'other %']
const others = (cpu: CpuUse) => Math.max(0, Math.round(cpu.machine - cpu.groups.reduce((sum, g) => sum + g.total, 0)))
console.log(`\n## Scale-out topology: 1 vs 2 API processes (${duration} s per run, median of ${rounds} alternating rounds)\n`)
console.log(`Catalog: autocannon, ${connections} connections in all (2 APIs: ${Math.floor(connections / 2)} on each). Checkout: ${shopperCount} shoppers looping add-to-cart + POST /orders (2 APIs: half on each); req/s = orders/s, latency of POST /orders alone.`)
console.log(`CPU: % of one core over the run, from /proc (a process at 100 % has a core to itself and wants more); machine = all cores (this machine has ${availableParallelism()}: ${availableParallelism() * 100} % is full); other = machine minus the processes listed (kernel, other programs).\n`)
console.log(`| ${header.join(' | ')} |`)
console.log(`|${header.map((_, i) => i < 2 ? '---' : '---:').join('|')}|`)
if (idle) console.log(`| idle (3 s, no load) | 2 | - | - | - | - | - | ${idle.groups.map((g) => g.perProcess.length > 1 ? `${Math.round(g.total)} (${g.perProcess.map(Math.round).join(' + ')})` : `${Math.round(g.total)}`).join(' | ')} | ${Math.round(idle.machine)} | ${others(idle)} |`)
for (const { scenario, runs } of rows) {
  if (runs.length === 0) continue
  const figures = [
    Math.round(median(runs.map((r) => r.reqPerSec))), median(runs.map((r) => r.p50)), median(runs.map((r) => r.p99)),
    runs.reduce((s, r) => s + r.errors, 0), runs.reduce((s, r) => s + r.non2xx, 0)
  ]
  console.log(`| ${scenario.name} | ${scenario.apis} | ${figures.join(' | ')} | ${groups.map((_, g) => cell(runs, g)).join(' | ')} | ${pct(runs.map((r) => r.cpu.machine))} | ${pct(runs.map((r) => others(r.cpu)))} |`)
}

// Interpretation data: the gain from the second API, and the process closest to a full core.
console.log('')
for (let i = 0; i + 1 < rows.length; i += 2) {
  const [a, b] = [rows[i]!, rows[i + 1]!]
  if (!a.runs.length || !b.runs.length) continue
  const rate = (r: typeof a) => median(r.runs.map((m) => m.reqPerSec))
  const busiest = (r: typeof a) => {
    const all = groups.flatMap((g, gi) => g.pids.map((_, j) => ({ name: g.pids.length > 1 ? `${g.name} #${j + 1}` : g.name, value: median(r.runs.map((m) => m.cpu.groups[gi]!.perProcess[j]!)) })))
    const top = all.sort((x, y) => y.value - x.value)[0]!
    return `${top.name} ${Math.round(top.value)} %, machine ${Math.round(median(r.runs.map((m) => m.cpu.machine)))} % of ${availableParallelism() * 100} %, stolen ${Math.round(median(r.runs.map((m) => m.cpu.steal)))} %`
  }
  console.log(`- ${a.scenario.name}: 2 APIs ÷ 1 API = ${(rate(b) / rate(a)).toFixed(2)}; busiest with 1 API: ${busiest(a)}; with 2: ${busiest(b)}`)
  // CPU per request is steadier than req/s on a shared machine (it leaves out time spent waiting
  // for a core), and says what one core of each class carries once the machine is its own.
  const unit = a.scenario.kind === 'checkout' ? 'order' : 'request'
  const perRequest = (r: typeof a, gi: number) => median(r.runs.map((m) => m.reqPerSec > 0 ? m.cpu.groups[gi]!.total * 1e4 / m.reqPerSec : 0))
  console.log(`  - CPU µs per ${unit}, 1 API / 2 APIs: ${groups.map((g, gi) => `${g.name} ${Math.round(perRequest(a, gi))} / ${Math.round(perRequest(b, gi))}`).join(', ')}`)
  // Only the classes this load keeps busy (5 % of a core or more): the rest is background noise.
  const engaged = groups.map((g, gi) => ({ g, gi })).filter(({ gi }) => median(a.runs.map((m) => m.cpu.groups[gi]!.total)) >= 5)
  console.log(`  - ${unit}s/s one full core carries (1 API): ${engaged.map(({ g, gi }) => `${g.name} ${Math.round(1e6 / perRequest(a, gi))}`).join(', ')}`)
}
console.log(`- the API processes logged ${logChars.map((c) => `${Math.round(c / 1e6)} MB`).join(' + ')} (one line per request, at info, as in production), through pipes to the load generator's process${replaced ? `; ${replaced} API process(es) replaced on the way, for the length of their log` : ''}`)
console.log(`\nTotal run time ${seconds(started)} s (topology start ${startedIn} s, seeding, warm-up and rounds ${measuredIn} s, the rest stopping it).`)
