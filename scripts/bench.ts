import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'
import { childEnv, loadConfigOrExit } from '../src/config.ts'
import { freePort, provideLocalServices } from '../src/platform/local-services.ts'
import { migrateToLatest } from '../src/platform/migrator.ts'

// npm run bench [-- --duration 5 --rounds 3 --connections 50 --only health]
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

const config = loadConfigOrExit(childEnv({ NODE_ENV: 'development' }))
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
async function compare (scenarios: Array<{ name: string, url: string, pid: number | undefined, options?: Partial<autocannon.Options> }>): Promise<Result[]> {
  for (const s of scenarios) await run(s.url, { ...s.options, duration: 2 }) // warm-up
  const runs: autocannon.Result[][] = scenarios.map(() => [])
  const cpu: number[][] = scenarios.map(() => [])
  for (let round = 0; round < rounds; round++) {
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
  LOG_LEVEL: 'info',
  DATABASE_URL: services.databaseUrl,
  REDIS_URL: services.redisUrl,
  RATE_LIMIT_MAX: '1000000000',
  REDIS_PREFIX: 'bench:'
}

const api = await startProcess('src/server.ts', apiEnv)
const bare = await startProcess('scripts/bench/bare-server.ts', {})
const results: Result[] = []
const ratios: Array<{ name: string, value: number, target: string }> = []

try {
  if (!only || only === 'health') {
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
