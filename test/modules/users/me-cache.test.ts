import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../../src/app.ts'
import { ManualClock } from '../../../src/platform/clock.ts'
import { bumpProfileVersion } from '../../../src/platform/profile-version.ts'
import { createTestEnv, type TestEnvOptions } from '../../helpers/app.ts'
import { codeFrom, createUser, login, PASSWORD, uniqueEmail, type SignedIn } from '../../helpers/auth.ts'
import { countRoundTrips } from '../../helpers/redis-round-trips.ts'

// GET /users/me is served from the process's cache, kept against the user's profile version
// (read by the session check): a hit costs that one Redis round trip and no SQL, and every
// write that changes the view is visible to the next request.

async function meEnv (t: Test, options: TestEnvOptions = {}) {
  const statements: string[] = []
  const env = await createTestEnv(t, { ...options, onQuery: (sql) => statements.push(sql) })
  const user = await createUser(env, { name: 'Cached Carla' })
  const session = await login(env.app, user.email)
  const get = (app: FastifyInstance = env.app, s: SignedIn = session) => app.inject({ method: 'GET', url: '/users/me', headers: s.headers })
  return { env, user, session, statements, get }
}

/** Reads the view once (filling the cache), then checks the next read is a hit. */
async function warm (t: Test, ctx: Awaited<ReturnType<typeof meEnv>>) {
  t.equal((await ctx.get()).statusCode, 200)
  ctx.statements.length = 0
  const again = await ctx.get()
  t.equal(ctx.statements.length, 0, 'warm: the view is cached')
  return again.json()
}

t.test('a cached /users/me runs no SQL and only the session check\'s one Redis round trip', async (t) => {
  const { env, user, statements, get } = await meEnv(t)
  const trips = countRoundTrips(env.app.redis)

  statements.length = 0
  const first = await get()
  t.equal(first.statusCode, 200)
  t.equal(statements.length, 1, 'a miss reads the user once')
  t.match(statements[0], /from "users"/)
  t.equal(trips.count, 1, 'a miss: the session check only')

  statements.length = 0
  trips.reset()
  const hit = await get()
  t.equal(hit.statusCode, 200)
  t.same(statements, [], 'a hit runs no SQL')
  t.equal(trips.count, 1, 'a hit: the session check only')
  t.same(trips.trips, [['evalsha']], 'which is the session script')
  t.equal(hit.body, first.body, 'the same bytes')
  t.match(hit.headers['content-type'], /^application\/json; charset=utf-8$/)
  t.ok(hit.headers['x-request-id'], 'the platform headers are there')
  t.match(hit.json(), { id: user.id, email: user.email, name: 'Cached Carla', hasPassword: true })
  t.notOk('passwordHash' in hit.json(), 'the response schema still shapes it')
})

t.test('a profile change (name, city, country, post code) shows on the next read', async (t) => {
  const ctx = await meEnv(t)
  await warm(t, ctx)
  const res = await ctx.env.app.inject({ method: 'PATCH', url: '/users/me', headers: ctx.session.headers, payload: { name: 'Carla Renamed', city: 'Lyon', country: 'FR', postCode: '69001' } })
  t.equal(res.statusCode, 200)
  t.match((await ctx.get()).json(), { name: 'Carla Renamed', city: 'Lyon', country: 'FR', postCode: '69001' })
})

t.test('a phone change shows on the next read', async (t) => {
  const ctx = await meEnv(t)
  t.equal((await warm(t, ctx)).phone, null)
  t.equal((await ctx.env.app.inject({ method: 'PATCH', url: '/users/me', headers: ctx.session.headers, payload: { phone: '+33 6 12 34 56 78' } })).statusCode, 200)
  t.equal((await ctx.get()).json().phone, '+33 6 12 34 56 78')
  t.equal((await ctx.env.app.inject({ method: 'PATCH', url: '/users/me', headers: ctx.session.headers, payload: { phone: null } })).statusCode, 200)
  t.equal((await ctx.get()).json().phone, null, 'and its removal')
})

t.test('a confirmed email change shows on the next read', async (t) => {
  const ctx = await meEnv(t, { smtp: true, worker: true })
  await warm(t, ctx)
  const newEmail = uniqueEmail('moved')
  t.equal((await ctx.env.app.inject({ method: 'PATCH', url: '/users/me', headers: ctx.session.headers, payload: { email: newEmail } })).statusCode, 200)
  t.equal((await ctx.get()).json().email, ctx.user.email, 'unchanged while the code is pending')
  const code = codeFrom(await ctx.env.smtp!.waitFor((m) => m.to.includes(newEmail)))
  t.equal((await ctx.env.app.inject({ method: 'POST', url: '/users/me/email/verify', headers: ctx.session.headers, payload: { code } })).statusCode, 200)
  t.match((await ctx.get()).json(), { email: newEmail, isProfileReverified: true })
})

t.test('a password change shows on the next read', async (t) => {
  const clock = new ManualClock()
  const ctx = await meEnv(t, { clock })
  const before = await warm(t, ctx)
  clock.advance(1000)
  const res = await ctx.env.app.inject({ method: 'POST', url: '/auth/password/change', headers: ctx.session.headers, payload: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' } })
  t.equal(res.statusCode, 204)
  const after = (await ctx.get()).json()
  t.equal(after.hasPassword, true)
  t.not(after.updatedAt, before.updatedAt, 'the change is seen (updatedAt moved)')
  t.equal(after.updatedAt, clock.now().toISOString())
})

t.test('an admin\'s changes to the type and profile show on the user\'s next read', async (t) => {
  const ctx = await meEnv(t)
  const admin = await createUser(ctx.env, { type: 'admin' })
  const adminSession = await login(ctx.env.app, admin.email)
  await warm(t, ctx)
  const res = await ctx.env.app.inject({ method: 'PATCH', url: `/users/${ctx.user.id}`, headers: adminSession.headers, payload: { type: 'vendor', name: 'Carla by Admin' } })
  t.equal(res.statusCode, 200)
  t.match((await ctx.get()).json(), { type: 'vendor', name: 'Carla by Admin', updatedBy: admin.id })
})

t.test('a suspended or deleted user\'s cached view is never served', async (t) => {
  const ctx = await meEnv(t)
  const admin = await createUser(ctx.env, { type: 'admin' })
  const adminSession = await login(ctx.env.app, admin.email)

  await warm(t, ctx)
  t.equal((await ctx.env.app.inject({ method: 'PATCH', url: `/users/${ctx.user.id}/status`, headers: adminSession.headers, payload: { status: 'suspended' } })).statusCode, 200)
  const suspended = await ctx.get()
  t.equal(suspended.statusCode, 401)
  t.equal(suspended.json().code, 'SESSION_ENDED')

  const other = await createUser(ctx.env)
  const otherSession = await login(ctx.env.app, other.email)
  t.equal((await ctx.get(ctx.env.app, otherSession)).statusCode, 200)
  t.equal((await ctx.get(ctx.env.app, otherSession)).json().id, other.id)
  t.equal((await ctx.env.app.inject({ method: 'DELETE', url: `/users/${other.id}`, headers: adminSession.headers })).statusCode, 204)
  const deleted = await ctx.get(ctx.env.app, otherSession)
  t.equal(deleted.statusCode, 401)
  t.equal(deleted.json().code, 'SESSION_ENDED')
})

t.test('only an active account\'s view is cached: any other status is read afresh', async (t) => {
  const ctx = await meEnv(t)
  await warm(t, ctx)
  // A status change that leaves the session alive (none of the admin routes does: they end the
  // sessions of any status but active), written the way the users module writes: row, then bump.
  await ctx.env.app.db.updateTable('users').set({ status: 'pending' }).where('id', '=', ctx.user.id).execute()
  await bumpProfileVersion(ctx.env.app, ctx.user.id)
  for (const read of [1, 2]) {
    ctx.statements.length = 0
    const res = await ctx.get()
    t.equal(res.json().status, 'pending', `read ${read} shows the status`)
    t.equal(ctx.statements.length, 1, `read ${read} comes from Postgres`)
  }
})

t.test('a change made through another API copy shows at once: the version lives in Redis', async (t) => {
  const ctx = await meEnv(t)
  const other = await buildApp(ctx.env.config)
  t.teardown(() => other.close())
  await other.ready()
  await warm(t, ctx)
  t.equal((await ctx.get(other)).json().name, 'Cached Carla', 'the other copy has it cached too')
  t.equal((await other.inject({ method: 'PATCH', url: '/users/me', headers: ctx.session.headers, payload: { name: 'Changed Elsewhere' } })).statusCode, 200)
  t.equal((await ctx.get()).json().name, 'Changed Elsewhere', 'this copy sees the change on its next read')
})

t.test('a cached view is read again after a minute at most', async (t) => {
  const clock = new ManualClock()
  const ctx = await meEnv(t, { clock })
  await warm(t, ctx)
  clock.advance(59_000)
  ctx.statements.length = 0
  await ctx.get()
  t.equal(ctx.statements.length, 0, 'still cached after 59 s')
  clock.advance(1_000)
  await ctx.get()
  t.equal(ctx.statements.length, 1, 'read again at 60 s')
})
