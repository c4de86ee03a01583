import { spawn } from 'node:child_process'
import t from 'tap'
import { createTestEnv } from '../helpers/app.ts'
import { bearer, codeFrom, createUser, login, PASSWORD } from '../helpers/auth.ts'
import { WITHOUT_COVERAGE } from '../helpers/child-coverage.ts'

t.test('the queue dashboard is for platform admins only', async (t) => {
  const env = await createTestEnv(t)
  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  const customer = await login(env.app, (await createUser(env)).email)
  t.equal((await env.app.inject({ method: 'GET', url: '/admin/queues' })).statusCode, 401)
  t.equal((await env.app.inject({ method: 'GET', url: '/admin/queues', headers: bearer(customer.accessToken) })).statusCode, 403)
  const page = await env.app.inject({ method: 'GET', url: '/admin/queues', headers: bearer(admin.accessToken) })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  const api = await env.app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: bearer(admin.accessToken) })
  t.equal(api.statusCode, 200)
  t.same(api.json().queues.map((q: any) => q.name).sort(), ['email', 'files', 'order-expiry', 'outbox', 'payouts', 'session-cleanup', 'sms'])
})

t.test('database performance figures are for platform admins', async (t) => {
  const env = await createTestEnv(t)
  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  const customer = await login(env.app, (await createUser(env)).email)
  t.equal((await env.app.inject({ method: 'GET', url: '/health/database/performance', headers: bearer(customer.accessToken) })).statusCode, 403)
  const res = await env.app.inject({ method: 'GET', url: '/health/database/performance', headers: bearer(admin.accessToken) })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.ok(body.cacheHitRatio === null || (body.cacheHitRatio >= 0 && body.cacheHitRatio <= 1))
  t.ok(body.connections.length >= 1, 'our own connection at least')
  t.ok(Array.isArray(body.slowestStatements) || typeof body.note === 'string', 'statements, or why there are none')
})

t.test('admin:create creates an admin who can sign in, and promotes an existing user', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const run = (args: string[]) => new Promise<{ code: number | null, out: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/admin-create.ts', ...args], {
      env: { ...process.env, ...WITHOUT_COVERAGE, NODE_ENV: 'test', DATABASE_URL: env.config.databaseUrl, REDIS_PREFIX: env.config.redisPrefix, DATA_DIR: env.config.dataDir, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let out = ''
    child.stdout.on('data', (c) => { out += c })
    child.stderr.on('data', (c) => { out += c })
    child.on('exit', (code) => resolve({ code, out }))
  })

  const created = await run(['boss@example.test', '--name', 'The Boss'])
  t.equal(created.code, 0, created.out)
  t.match(created.out, 'Created platform admin boss@example.test')
  t.match(created.out, '/auth/otp/send')
  const row = await env.app.db.selectFrom('users').selectAll().where('email', '=', 'boss@example.test').executeTakeFirstOrThrow()
  t.equal(row.type, 'admin')
  t.equal(row.status, 'active')
  t.equal(row.name, 'The Boss')

  await env.app.inject({ method: 'POST', url: '/auth/otp/send', payload: { email: 'boss@example.test' } })
  const code = codeFrom(await env.smtp!.waitFor((m) => m.to.includes('boss@example.test')))
  const signedIn = await env.app.inject({ method: 'POST', url: '/auth/otp/verify', payload: { email: 'boss@example.test', code } })
  t.equal(signedIn.statusCode, 200)
  const token = signedIn.json().tokens.accessToken
  t.equal((await env.app.inject({ method: 'GET', url: '/admin/sessions', headers: bearer(token) })).statusCode, 200, 'an admin')

  const customer = await createUser(env)
  const live = await login(env.app, customer.email, PASSWORD)
  t.equal((await env.app.inject({ method: 'GET', url: '/admin/sessions', headers: bearer(live.accessToken) })).statusCode, 403)
  const promoted = await run([customer.email, '--with-password'])
  t.equal(promoted.code, 0)
  t.match(promoted.out, 'is now a platform admin (was customer)')
  t.match(promoted.out, /password \(shown once; change it after signing in\): \S{12,}/)
  t.equal((await env.app.inject({ method: 'GET', url: '/admin/sessions', headers: bearer(live.accessToken) })).statusCode, 200, 'the live session is an admin now')

  const bad = await run(['not-an-email'])
  t.equal(bad.code, 2)
  t.match(bad.out, 'usage: npm run admin:create')
})
