import { spawn } from 'node:child_process'
import { request } from 'node:http'
import t from 'tap'
import { testConfig } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/database.ts'

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

t.test('SIGTERM lets the in-flight request finish, refuses new ones and exits 0', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const config = testConfig()
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/slow-server.ts'], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      PORT: '0',
      LOG_LEVEL: 'silent',
      DATA_DIR: config.dataDir,
      DATABASE_URL: database.url,
      REDIS_PREFIX: config.redisPrefix
    },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
      const match = /LISTENING (\d+)/.exec(out)
      if (match) resolve(Number(match[1]))
    })
    child.on('exit', () => reject(new Error('server exited before listening')))
  })

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
