import { spawn } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { Cluster } from 'ioredis'
import { createTestEnv, eventually, keysMatching, type TestEnv, type TestEnvOptions } from '../helpers/app.ts'
import { WITHOUT_COVERAGE } from '../helpers/child-coverage.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { freePort } from '../../scripts/lib/local-services.ts'
import { bearer, codeFrom, createUser, login, PASSWORD, uniqueEmail } from '../helpers/auth.ts'
import { startRedisCluster } from '../../scripts/lib/redis-cluster.ts'
import { ManualClock } from '../../src/platform/clock.ts'
import { masterNodes } from '../../src/platform/redis.ts'
import { withLock } from '../../src/platform/run-lock.ts'
import { finalizeExpiredSessions } from '../../src/modules/sessions/public.ts'

// Issue 13, item 1: the API and the worker on a real Redis Cluster (3 masters, Debian's
// redis-server): every Redis-backed feature through HTTP and the worker, and the keys really
// spread over the masters while what one script or MULTI touches shares a slot.

const cluster = await startRedisCluster({ masters: 3 })
t.teardown(() => cluster.stop())
const redisClusterNodes = cluster.nodes.map((node) => {
  const [host, port] = node.split(':')
  return { host: host!, port: Number(port) }
})

async function clusterEnv (t: Test, options: TestEnvOptions = {}): Promise<TestEnv> {
  const env = await createTestEnv(t, { ...options, config: { ...options.config, redisClusterNodes } })
  if (options.api !== false) t.ok(env.app.redis instanceof Cluster, 'the app\'s client is a Cluster client')
  return env
}

/** How many masters hold at least one key matching `pattern`. */
async function mastersHolding (env: TestEnv, pattern: string): Promise<number> {
  let holding = 0
  for (const node of masterNodes(env.redis)) {
    let cursor = '0'
    let found = false
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      found ||= keys.length > 0
    } while (cursor !== '0')
    if (found) holding++
  }
  return holding
}

const me = (app: FastifyInstance, token: string) => app.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) })
const refresh = (app: FastifyInstance, refreshToken: string) => app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken } })

t.test('the cluster has three masters sharing the 16384 slots', async (t) => {
  const env = await clusterEnv(t, { api: false })
  await keysMatching(env.redis, 'none') // connects
  t.equal(masterNodes(env.redis).length, 3)
  const info = await (env.redis as Cluster).cluster('INFO')
  t.match(info, /cluster_state:ok/)
  t.match(info, /cluster_slots_assigned:16384/)
})

t.test('sign-up with the emailed code, password login, /auth/me, refresh rotation and reuse detection, sign-out everywhere', async (t) => {
  const clock = new ManualClock()
  const env = await clusterEnv(t, { clock, smtp: true, worker: true })
  const email = uniqueEmail('cluster')
  const started = await env.app.inject({ method: 'POST', url: '/auth/signup', payload: { email, name: 'Cluster Person', password: PASSWORD } })
  t.equal(started.statusCode, 202)
  const { signupId } = started.json()
  // The worker (BullMQ consumer on the cluster) delivered the code through SMTP.
  const code = codeFrom(await env.smtp!.waitFor((m) => m.to.includes(email)))
  const wrong = await env.app.inject({ method: 'POST', url: '/auth/signup/verify', payload: { signupId, code: code === '000000' ? '111111' : '000000' } })
  t.equal(wrong.json().code, 'INVALID_CODE', 'a wrong code is counted and refused')
  const verified = await env.app.inject({ method: 'POST', url: '/auth/signup/verify', payload: { signupId, code } })
  t.equal(verified.statusCode, 201, 'the sign-up completes')
  t.equal(verified.json().user.email, email)
  t.same(await keysMatching(env.redis, `${env.config.redisPrefix}signup:{${signupId}}*`), [], 'the sign-up\'s keys are gone (one DEL over its one slot)')

  const first = await login(env.app, email)
  const second = await login(env.app, email)
  t.equal((await me(env.app, first.accessToken)).json().user.email, email, '/auth/me answers from the session on the cluster')

  const rotated = await refresh(env.app, first.refreshToken)
  t.equal(rotated.statusCode, 200, 'the refresh token rotates')
  const next = rotated.json()
  t.not(next.refreshToken, first.refreshToken)
  t.equal((await me(env.app, next.accessToken)).statusCode, 200)
  clock.advance(11_000)
  const replay = await refresh(env.app, first.refreshToken)
  t.equal(replay.json().code, 'REFRESH_TOKEN_REUSED', 'the old token after the grace window is reuse')
  t.equal((await me(env.app, next.accessToken)).statusCode, 401, 'and the session ended')
  const reused = await env.app.db.selectFrom('sessions').select('endReason').where('id', '=', first.sessionId).executeTakeFirstOrThrow()
  t.equal(reused.endReason, 'reuse_detected')

  const third = await login(env.app, email)
  const out = await env.app.inject({ method: 'POST', url: '/auth/logout-all', headers: third.headers })
  t.equal(out.statusCode, 204)
  t.equal((await me(env.app, second.accessToken)).statusCode, 401, 'another session ended')
  t.equal((await me(env.app, third.accessToken)).statusCode, 401, 'this one too')
  const active = await env.app.db.selectFrom('sessions').select('id').where('isActive', '=', true).execute()
  t.equal(active.length, 0, 'no session of the user is active in Postgres')
})

t.test('sessions of many users spread over the masters; cleanup walks every bucket and ends the expired ones', async (t) => {
  const clock = new ManualClock()
  const env = await clusterEnv(t, { clock, config: { sessionIdleTtl: 600 } })
  const users = await Promise.all(Array.from({ length: 20 }, () => createUser(env)))
  const sessions = await Promise.all(users.map((user) => login(env.app, user.email)))
  t.equal(await mastersHolding(env, `${env.config.redisPrefix}sess:*`), 3, 'twenty users\' sessions sit on all three masters')

  clock.advance(5 * 60_000)
  // Half stay active; the other half go idle past the 10-minute limit.
  for (const s of sessions.slice(0, 10)) t.equal((await me(env.app, s.accessToken)).statusCode, 200)
  clock.advance(6 * 60_000)
  t.equal(await finalizeExpiredSessions(env.app.deps, { batchSize: 3 }), 10, 'ten idle sessions ended, in batches of three per bucket')
  t.equal(await finalizeExpiredSessions(env.app.deps), 0, 'none twice')
  const ended = await env.app.db.selectFrom('sessions').select(['id', 'endReason']).where('isActive', '=', false).execute()
  t.same(ended.map((r) => r.id).sort(), sessions.slice(10).map((s) => s.sessionId).sort(), 'exactly the idle ones')
  t.ok(ended.every((r) => r.endReason === 'expired'))
  for (const s of sessions.slice(0, 10)) t.equal((await me(env.app, s.accessToken)).statusCode, 200)
})

t.test('the per-IP rate limit counts on the cluster: 429 past the limit', async (t) => {
  const env = await clusterEnv(t, { config: { authRateLimitMax: 5 } })
  const user = await createUser(env)
  const attempt = () => env.app.inject({ method: 'POST', url: '/auth/login', remoteAddress: '198.51.100.7', payload: { email: user.email, password: 'not the password' } })
  const codes: number[] = []
  for (let i = 0; i < 6; i++) codes.push((await attempt()).statusCode)
  t.same(codes, [401, 401, 401, 401, 401, 429], 'five wrong passwords answered, the sixth request limited')
})

t.test('an idempotency key replays its response, and a duplicate in progress gets 409', async (t) => {
  let runs = 0
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  const env = await clusterEnv(t, {
    plugins: [async (app) => {
      app.post('/test/slow', { config: { idempotency: 'required' } }, async (request, reply) => {
        runs++
        if ((request.body as { wait?: boolean }).wait) await gate
        return reply.code(201).send({ run: runs })
      })
    }]
  })
  const send = (key: string, wait = false) => env.app.inject({ method: 'POST', url: '/test/slow', headers: { 'idempotency-key': key }, payload: { wait } })
  const firstResponse = await send('k1')
  t.equal(firstResponse.statusCode, 201)
  const replay = await send('k1')
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.same(replay.json(), { run: 1 }, 'the stored response, not a second run')

  const slow = send('k2', true)
  await eventually(() => runs === 2, 5000)
  const duplicate = await send('k2', true)
  t.equal(duplicate.statusCode, 409)
  t.equal(duplicate.json().code, 'IDEMPOTENCY_IN_PROGRESS')
  release()
  t.equal((await slow).statusCode, 201)
  t.equal(runs, 2, 'two runs for two keys')
})

t.test('password reset by email on the cluster ends every session', async (t) => {
  const env = await clusterEnv(t, { smtp: true, worker: true })
  const user = await createUser(env)
  const s = await login(env.app, user.email)
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { email: user.email } })).statusCode, 202)
  // Its sign-in from a new device was mailed too: the reset mail is the one with the link.
  const mail = await env.smtp!.waitFor((m) => m.to.includes(user.email) && m.text.includes('token='))
  const token = decodeURIComponent(/token=([^\s"&<]+)/.exec(mail.text)![1]!)
  const reset = await env.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, password: 'a new cluster passphrase' } })
  t.equal(reset.statusCode, 204)
  t.equal((await me(env.app, s.accessToken)).statusCode, 401, 'the old session ended')
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, password: 'another passphrase 2' } })).statusCode, 400, 'the link works once')
  await login(env.app, user.email, 'a new cluster passphrase')
})

t.test('BullMQ keys of each queue share one slot; the scheduled, run-locked cleanup runs on the worker', async (t) => {
  const clock = new ManualClock()
  const env = await clusterEnv(t, { clock, config: { sessionIdleTtl: 600 } })
  const user = await createUser(env)
  const s = await login(env.app, user.email)
  clock.advance(11 * 60_000)
  await env.startWorker({ clock })
  // The worker's scheduler runs the cleanup at once, under its run lock.
  const row = await eventually(async () => {
    const r = await env.app.db.selectFrom('sessions').select(['isActive', 'endReason']).where('id', '=', s.sessionId).executeTakeFirstOrThrow()
    return r.isActive ? null : r
  }, 15000, 200)
  t.equal(row.endReason, 'expired', 'the scheduled cleanup ended the idle session')

  const keys = await keysMatching(env.redis, `${env.config.queuePrefix}:*`)
  t.ok(keys.length >= 5, `BullMQ keys exist (${keys.length})`)
  const slots = new Set(await Promise.all(keys.map((key) => (env.redis as Cluster).cluster('KEYSLOT', key))))
  t.equal(slots.size, 1, 'every BullMQ key hashes to one slot (the prefix\'s tag)')

  // The run lock itself: a second holder is refused while the first runs, and the lock is released.
  let releaseRun!: () => void
  const running = new Promise<void>((resolve) => { releaseRun = resolve })
  const firstRun = withLock(env.app.redis, 'lock:cluster-test', 'owner-1', () => running.then(() => 'done'))
  t.same(await withLock(env.app.redis, 'lock:cluster-test', 'owner-2', async () => 'overlap'), { skipped: true }, 'no overlap')
  releaseRun()
  t.equal(await firstRun, 'done')
  t.equal(await withLock(env.app.redis, 'lock:cluster-test', 'owner-3', async () => 'next'), 'next', 'released by its owner')
})

t.test('npm start runs the API and the worker on the cluster REDIS_CLUSTER_NODES names, and starts no Redis of its own', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const dataDir = await mkdtemp(join(tmpdir(), 'bazaar-start-cluster-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const port = await freePort()
  const prefix = `start${Date.now().toString(36)}:`
  const { REDIS_URL: _unset, ...inherited } = process.env
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    env: { ...inherited, ...WITHOUT_COVERAGE, NODE_ENV: 'development', PORT: String(port), LOG_LEVEL: 'warn', DATA_DIR: dataDir, DATABASE_URL: database.url, REDIS_CLUSTER_NODES: cluster.nodes.join(','), REDIS_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk) => { output += chunk })
  child.stderr.on('data', (chunk) => { output += chunk })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  // Whatever failed above, Ctrl-C: npm start then stops the API and the worker (each in a
  // process group of its own, which a kill of npm start alone would leave running).
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGINT')
    await exited
  })
  await eventually(() => output.includes('Press Ctrl-C to stop.') || child.exitCode !== null, 60000)
  t.match(output, 'Press Ctrl-C to stop.', `ready (${output.slice(-400)})`)
  t.notMatch(output, /starting redis|using the Redis server/i, 'no local Redis stands in for the cluster')

  const api = `http://localhost:${port}`
  t.equal((await fetch(`${api}/health/ready`)).status, 200)
  // A sign-up: its encrypted state and rate-limit keys on the cluster, then the code's email
  // through the outbox, the cluster-held queue and the worker, into the development mail folder.
  const sent = await fetch(`${api}/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: uniqueEmail('start-cluster'), name: 'Cluster' }) })
  t.equal(sent.status, 202, await sent.clone().text())
  const probe = new Cluster(cluster.nodes.map((node) => ({ host: node.split(':')[0]!, port: Number(node.split(':')[1]) })))
  probe.on('error', () => {})
  t.teardown(() => probe.disconnect())
  const ours = async (pattern: string) => (await Promise.all(masterNodes(probe).map((node) => node.keys(pattern)))).flat()
  await eventually(async () => (await ours(`${prefix}*`)).length > 0)
  t.ok((await ours(`${prefix}*`)).length > 0, 'the API keeps its keys on the cluster, under REDIS_PREFIX')
  await eventually(async () => (await readdir(join(dataDir, 'mail')).catch(() => [])).length > 0, 20000)
  t.equal((await readdir(join(dataDir, 'mail'))).length, 1, 'the worker sent the email it took from the cluster\'s queue')

  child.kill('SIGINT')
  t.equal(await exited, 0, 'Ctrl-C stops everything and exits 0')
})
