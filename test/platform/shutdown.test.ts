import { spawn, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import t, { type Test } from 'tap'
import { testConfig } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { WITHOUT_COVERAGE } from '../helpers/child-coverage.ts'

function get (port: number, path: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = ''
      res.on('data', (chunk) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function startFixture (t: Test, env: Record<string, string> = {}): Promise<{ child: ChildProcess, port: number, exited: Promise<number | null> }> {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const config = testConfig()
  // A test giving its own REDIS_URL (a private server it stops) means that one, on a cluster run too.
  const { REDIS_CLUSTER_NODES: cluster, ...inherited } = process.env
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/slow-server.ts'], {
    env: {
      ...inherited,
      ...(cluster && env.REDIS_URL === undefined ? { REDIS_CLUSTER_NODES: cluster } : {}),
      ...WITHOUT_COVERAGE,
      NODE_ENV: 'test',
      PORT: '0',
      LOG_LEVEL: 'silent',
      DATA_DIR: config.dataDir,
      DATABASE_URL: database.url,
      REDIS_PREFIX: config.redisPrefix,
      ...env
    },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk) => {
      out += chunk
      const match = /LISTENING (\d+)/.exec(out)
      if (match) resolve(Number(match[1]))
    })
    child.on('exit', () => reject(new Error('server exited before listening')))
  })
  return { child, port, exited }
}

t.test('SIGTERM lets the in-flight request finish, refuses new ones and exits 0', async (t) => {
  const { child, port, exited } = await startFixture(t, { SHUTDOWN_DRAIN_MS: '0' })

  t.equal((await get(port, '/health/ready')).status, 200)
  const slow = get(port, '/test/slow')
  await new Promise((resolve) => setTimeout(resolve, 300))
  child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 300))

  const late = await get(port, '/health/live').then((r) => r.status, (err: NodeJS.ErrnoException) => err.code)
  t.ok(late === 'ECONNREFUSED' || late === 'ECONNRESET' || late === 503, `a new request is refused or answered 503 (got ${late})`)

  const finished = await slow
  t.equal(finished.status, 200, 'the in-flight request completes')
  t.same(JSON.parse(finished.body), { finished: true })
  t.equal(await exited, 0, 'the process exits 0')
})

t.test('on SIGTERM readiness answers 503 for the drain period while requests are still served, then the listener closes', async (t) => {
  const { child, port, exited } = await startFixture(t, { SHUTDOWN_DRAIN_MS: '1500' })
  t.equal((await get(port, '/health/ready')).status, 200)
  const signalled = Date.now()
  child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 100))

  const during: Array<{ ready: number, code: string, live: number }> = []
  while (Date.now() - signalled < 1000) {
    const ready = await get(port, '/health/ready')
    const live = await get(port, '/health/live')
    during.push({ ready: ready.status, code: JSON.parse(ready.body).code, live: live.status })
    await new Promise((resolve) => setTimeout(resolve, 150))
  }
  t.ok(during.length >= 3, `probed ${during.length} times during the drain`)
  t.ok(during.every((d) => d.ready === 503 && d.code === 'SHUTTING_DOWN'), 'readiness is 503 SHUTTING_DOWN throughout the drain')
  t.ok(during.every((d) => d.live === 200), 'other requests are still answered')

  t.equal(await exited, 0, 'then the process exits 0')
  t.ok(Date.now() - signalled >= 1500, 'not before the drain period is over')
  const after = await get(port, '/health/live').then((r) => r.status, (err: NodeJS.ErrnoException) => err.code)
  t.equal(after, 'ECONNREFUSED', 'and the port is closed')
})

t.test('a promise left rejected by one request does not take the process down', async (t) => {
  const { child, port, exited } = await startFixture(t, { SHUTDOWN_DRAIN_MS: '0' })
  const answered = await get(port, '/test/stray-rejection')
  t.equal(answered.status, 200)
  t.same(JSON.parse(answered.body), { answered: true })
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(child.exitCode, null, 'the process is alive')
  const ready = await get(port, '/health/ready')
  t.equal(ready.status, 200, 'and ready, not shutting down')
  child.kill('SIGTERM')
  t.equal(await exited, 0)
})

t.test('a second SIGTERM during the drain (a supervisor repeating itself) cuts nothing short', async (t) => {
  const { child, port, exited } = await startFixture(t, { SHUTDOWN_DRAIN_MS: '800' })
  t.equal((await get(port, '/health/ready')).status, 200)
  const slow = get(port, '/test/slow').catch((err: Error) => ({ status: 0, body: err.message }))
  await new Promise((resolve) => setTimeout(resolve, 100))
  child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 200))
  child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 200))
  const ready = await get(port, '/health/ready')
  t.equal(ready.status, 503, 'still draining: readiness 503')
  const finished = await slow
  t.equal(finished.status, 200, 'the in-flight request completes')
  t.equal(await exited, 0, 'and the process exits 0')
})

t.test('SIGTERM while Redis is down still shuts down promptly and cleanly', async (t) => {
  const { startPrivateRedis } = await import('../helpers/redis-server.ts')
  const redis = await startPrivateRedis()
  t.teardown(() => redis.close())
  const { child, port, exited } = await startFixture(t, { SHUTDOWN_DRAIN_MS: '300', REDIS_URL: redis.url })
  t.equal((await get(port, '/health/ready')).status, 200)
  await redis.stop()
  t.equal((await get(port, '/health/ready')).status, 503, 'not ready without Redis')
  const signalled = Date.now()
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'exits 0')
  t.ok(Date.now() - signalled < 5000, `within seconds (${Date.now() - signalled} ms)`)
})

t.test('keep-alive connections are served during the drain and do not hold the process open after it', async (t) => {
  const { Agent } = await import('node:http')
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const { child, port, exited } = await startFixture(t, { SHUTDOWN_DRAIN_MS: '800' })
  const viaAgent = (path: string) => new Promise<{ status: number, socket: unknown }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, socket: req.socket }))
    })
    req.on('error', reject)
    req.end()
  })
  const before = await viaAgent('/health/live')
  t.equal(before.status, 200)
  const signalled = Date.now()
  child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 200))
  const during = await viaAgent('/health/live')
  t.equal(during.status, 200, 'served during the drain on the kept-alive connection')
  t.equal(during.socket, before.socket, 'the same connection')
  t.equal(await exited, 0, 'exits 0')
  t.ok(Date.now() - signalled < 800 + 3000, `soon after the drain, the idle connection notwithstanding (${Date.now() - signalled} ms)`)
})
