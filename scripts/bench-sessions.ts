import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { availableParallelism, loadavg } from 'node:os'
import autocannon from 'autocannon'
import pino from 'pino'
import { sql } from 'kysely'
import { loadConfigOrExit } from '../src/config.ts'
import { connectDeps } from '../src/platform/deps.ts'
import { Redis } from 'ioredis'
import { USER_BUCKETS } from '../src/platform/user-slot.ts'
import { migrateToLatest } from '../src/platform/migrator.ts'
import { hashPassword } from '../src/platform/passwords.ts'
import { redisScripts } from '../src/redis-scripts.ts'
import { findUserByEmail, insertUser } from '../src/modules/users/public.ts'
import { childEnv, devSecretsEnv } from './lib/dev-env.ts'
import { freePort, provideLocalServices, withDatabase } from './lib/local-services.ts'
import { createBulkSessions } from './lib/bulk-sessions.ts'

// npm run bench:sessions [-- --sessions 1000000 --per-user 10 --rate 200 --baseline 20 --cleanup-rate 25000]
// Session cleanup at scale (issue 15): writes `sessions` expired sessions (pipelined into Redis,
// bulk into Postgres, in the app's shapes), starts the API (src/server.ts, its own process) and
// streams `GET /auth/me` at a fixed rate from this process with autocannon: first with no
// cleanup running (the baseline), then while the worker's cleanup job (the same processor, in a
// process of its own: scripts/bench/session-cleanup-run.ts) finalises them all. Prints the time
// to finalise, sessions/s and the /auth/me latency baseline vs during. Runs on the database
// bazaar_bench_sessions of the DATABASE_URL server (or the local services), under a fresh Redis
// prefix; removes what it wrote at the end.

const args = process.argv.slice(2)
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback
}
const total = option('sessions', 1_000_000)
const perUser = option('per-user', 10)
const rate = option('rate', 200)
const baselineSeconds = option('baseline', 20)
// The job's defaults unless given (to try other batch shapes).
const batchSize = option('batch', 0)
const buckets = option('buckets', 0)
// The job's pace (sessions/s) unless given; 0 runs it unpaced.
const cleanupRate = option('cleanup-rate', -1)
const log = (msg: string) => process.stderr.write(`[bench:sessions] ${msg}\n`)

const secrets = devSecretsEnv(childEnv({ NODE_ENV: 'development' }))
const base = loadConfigOrExit(childEnv({ NODE_ENV: 'development', ...secrets }))
const services = await provideLocalServices({
  dataDir: base.dataDir,
  databaseUrl: base.databaseUrlSet ? withDatabase(base.databaseUrl, 'bazaar_bench_sessions') : undefined,
  redisUrl: base.redisUrlSet ? base.redisUrl : undefined,
  database: 'bazaar_bench_sessions',
  checkGiven: true,
  createDatabase: true,
  log: { info: (msg) => log(msg) }
})
await migrateToLatest(services.databaseUrl)
const prefix = `bsess${randomBytes(3).toString('hex')}:`
const env = {
  NODE_ENV: 'development',
  ...secrets,
  LOG_LEVEL: 'warn',
  DATABASE_URL: services.databaseUrl,
  REDIS_URL: services.redisUrl,
  REDIS_PREFIX: prefix,
  RATE_LIMIT_MAX: '1000000000',
  AUTH_RATE_LIMIT_MAX: '1000000000'
}
const config = loadConfigOrExit(childEnv(env))
const { deps, close } = await connectDeps(config, { log: pino({ level: 'warn' }), scripts: redisScripts })

async function removeBenchData (): Promise<void> {
  await sql`truncate sessions`.execute(deps.db)
  await sql`delete from users where email like 'bulk-%@example.test'`.execute(deps.db)
}

/** Redis time in the cleanup script so far (INFO commandstats); SLOWLOG gives the longest call. */
async function scriptTime (): Promise<{ calls: number, usec: number }> {
  const line = (await deps.redis.info('commandstats')).split('\n').find((l) => l.startsWith('cmdstat_evalsha:')) ?? ''
  return { calls: Number(/calls=(\d+)/.exec(line)?.[1] ?? 0), usec: Number(/usec=(\d+)/.exec(line)?.[1] ?? 0) }
}
let redisMaxCall = 0

/** Postgres time in the cleanup's UPDATE so far, where pg_stat_statements is loaded. */
async function updateTime (): Promise<{ calls: number, ms: number } | null> {
  try {
    await sql`create extension if not exists pg_stat_statements`.execute(deps.db)
    const { rows } = await sql<{ calls: string, ms: number }>`select coalesce(sum(calls), 0) as calls, coalesce(sum(total_exec_time), 0) as ms
      from pg_stat_statements where query like 'update sessions as s set%'`.execute(deps.db)
    return { calls: Number(rows[0]!.calls), ms: Number(rows[0]!.ms) }
  } catch {
    return null
  }
}

let api: ChildProcess | undefined
try {
  await removeBenchData()
  const email = 'bench-sessions@example.test'
  const password = 'bench password 123'
  if (!await findUserByEmail(deps.db, email)) {
    await insertUser(deps.db, { email, name: 'Bench User', type: 'customer', status: 'active', passwordHash: await hashPassword(password), verifiedAt: new Date() }, deps.random)
  }

  const loadAtStart = loadavg()[0]!
  let started = performance.now()
  const now = Date.now()
  // A client that waits: the API's fails commands after 2 s, and a bulk write can queue longer.
  const writer = new Redis(services.redisUrl, { keyPrefix: prefix, enableAutoPipelining: true })
  await createBulkSessions({ ...deps, redis: writer }, {
    users: Math.ceil(total / perUser),
    sessionsPerUser: perUser,
    createdAt: now - 2 * 86_400_000,
    idleMs: 30 * 60_000,
    absoluteMs: 30 * 86_400_000,
    chunkUsers: Math.max(1, Math.floor(5000 / perUser)),
    onChunk: (done) => { if (done % 100_000 === 0) log(`${done} sessions written`) }
  })
  writer.disconnect()
  const setupSeconds = (performance.now() - started) / 1000
  const created = Math.ceil(total / perUser) * perUser
  log(`${created} expired sessions written in ${setupSeconds.toFixed(1)} s`)
  await sql`vacuum analyze sessions`.execute(deps.db)

  const port = await freePort()
  api = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env: childEnv({ ...env, PORT: String(port) }), stdio: ['ignore', 'ignore', 'inherit'] })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 300 && !await fetch(`${url}/health/live`).then((r) => r.ok, () => false); i++) await new Promise((resolve) => setTimeout(resolve, 100))
  const signin = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })
  if (signin.status !== 200) throw new Error(`login failed: ${signin.status} ${await signin.text()}`)
  const token = ((await signin.json()) as { tokens: { accessToken: string } }).tokens.accessToken

  // A fixed, modest rate over a few connections, so latency is what is compared.
  const stream = (duration: number) => {
    let instance!: autocannon.Instance
    const result = new Promise<autocannon.Result>((resolve, reject) => {
      instance = autocannon({ url: `${url}/auth/me`, headers: { authorization: `Bearer ${token}` }, connections: 4, overallRate: rate, duration },
        (err, res) => err ? reject(err) : resolve(res))
    })
    return { result, stop: () => instance.stop() }
  }
  await stream(3).result // warm-up
  const baseline = await stream(baselineSeconds).result

  started = performance.now()
  await deps.redis.config('SET', 'slowlog-log-slower-than', '1000')
  await deps.redis.slowlog('RESET')
  const redisBefore = await scriptTime()
  const sqlBefore = await updateTime()
  const cleanup = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/session-cleanup-run.ts', String(batchSize), String(buckets), String(cleanupRate)], { env: childEnv(env), stdio: ['ignore', 'pipe', 'inherit'] })
  const during = stream(3600)
  let output = ''
  cleanup.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => cleanup.on('exit', resolve))
  const wallSeconds = (performance.now() - started) / 1000
  const redisAfter = await scriptTime()
  const slow = await deps.redis.slowlog('GET', 1000) as Array<[number, number, number, string[]]>
  redisMaxCall = Math.max(0, ...slow.filter((e) => e[3][0]?.toLowerCase() === 'evalsha').map((e) => e[2]))
  const sqlAfter = await updateTime()
  during.stop()
  const duringResult = await during.result
  if (code !== 0) throw new Error(`the cleanup run failed (exit ${code})`)
  const run = JSON.parse(output) as { finalized: number, ms: number }
  // Again after the run: on a shared machine the load drifts, so the baseline is taken on both sides.
  const after = await stream(baselineSeconds).result
  const baselineP99 = (baseline.latency.p99 + after.latency.p99) / 2

  const ended = Number((await sql<{ n: string }>`select count(*) as n from sessions where end_reason = 'expired'`.execute(deps.db)).rows[0]!.n)
  let indexed = 0
  for (const bucket of USER_BUCKETS) indexed += await deps.redis.zcard(`sess:exp:{u${bucket}}`)

  const ms = (n: number) => `${n} ms`
  const rows: Array<[string, string]> = [
    ['expired sessions', String(created)],
    ['setup (Redis pipelined + Postgres bulk)', `${setupSeconds.toFixed(1)} s`],
    ['cleanup run: finalised', String(run.finalized)],
    ['cleanup run: time (in the job)', `${(run.ms / 1000).toFixed(1)} s`],
    ['cleanup run: sessions/s', String(Math.round(run.finalized / (run.ms / 1000)))],
    ['cleanup process wall time (start + run + exit)', `${wallSeconds.toFixed(1)} s`],
    ['Redis: script calls, time in them, longest call', `${redisAfter.calls - redisBefore.calls}, ${((redisAfter.usec - redisBefore.usec) / 1e6).toFixed(1)} s, ${(redisMaxCall / 1000).toFixed(1)} ms`],
    ['Postgres: UPDATE statements, time in them', sqlAfter === null || sqlBefore === null ? 'n/a (no pg_stat_statements)' : `${sqlAfter.calls - sqlBefore.calls}, ${((sqlAfter.ms - sqlBefore.ms) / 1000).toFixed(1)} s`],
    ['ended in Postgres / left in the expiry indexes', `${ended} / ${indexed - 1} (+1: the bench user's live session)`],
    [`GET /auth/me at ${rate}/s, baseline (${baseline.requests.total} req): p50 / p99 / max`, `${ms(baseline.latency.p50)} / ${ms(baseline.latency.p99)} / ${ms(baseline.latency.max)}`],
    [`GET /auth/me at ${rate}/s, during (${duringResult.requests.total} req): p50 / p99 / max`, `${ms(duringResult.latency.p50)} / ${ms(duringResult.latency.p99)} / ${ms(duringResult.latency.max)}`],
    [`GET /auth/me at ${rate}/s, baseline after (${after.requests.total} req): p50 / p99 / max`, `${ms(after.latency.p50)} / ${ms(after.latency.p99)} / ${ms(after.latency.max)}`],
    ['p99 added (during - mean of the baselines)', ms(Math.round((duringResult.latency.p99 - baselineP99) * 100) / 100)],
    ['errors / non-2xx (before, during, after)', `${baseline.errors}/${baseline.non2xx}, ${duringResult.errors}/${duringResult.non2xx}, ${after.errors}/${after.non2xx}`],
    ['load average (1 min) at start / at end, cores', `${loadAtStart.toFixed(2)} / ${loadavg()[0]!.toFixed(2)}, ${availableParallelism()}`]
  ]
  const width = Math.max(...rows.map(([name]) => name.length))
  process.stdout.write(rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n') + '\n')
  // Baselines further apart than the target itself: the machine's own noise swamps the effect.
  const p99Verdict = Math.abs(baseline.latency.p99 - after.latency.p99) > 10
    ? 'INCONCLUSIVE (the two baselines differ by more than 10 ms: the machine is too noisy)'
    : duringResult.latency.p99 - baselineP99 < 10 ? 'met' : 'MISSED'
  process.stdout.write(`targets: under 60 s ${run.ms < 60_000 ? 'met' : 'MISSED'}; p99 added under 10 ms ${p99Verdict}\n`)
} finally {
  api?.kill('SIGTERM')
  await removeBenchData().catch(() => {})
  // A client without the prefix: SCAN returns whole key names.
  const raw = new Redis(services.redisUrl)
  let cursor = '0'
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    if (keys.length) await raw.unlink(...keys)
  } while (cursor !== '0')
  raw.disconnect()
  await close()
  await services.stop()
}
