import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { codeFrom, createUser, login, PASSWORD, uniqueEmail } from '../../helpers/auth.ts'
import { insertUser } from '../../../src/modules/users/public.ts'
import { ManualClock } from '../../../src/platform/clock.ts'

t.test('profile: read and update; fields not meant for it are refused and change nothing', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const s = await login(env.app, user.email)
  const patched = await env.app.inject({ method: 'PATCH', url: '/users/me', headers: s.headers, payload: { name: 'New Name', phone: '+44 20 7946 0958', postCode: 'N1 9GU', country: 'GB', city: 'London' } })
  t.equal(patched.statusCode, 200)
  t.match(patched.json().user, { name: 'New Name', phone: '+44 20 7946 0958', postCode: 'N1 9GU', country: 'GB', city: 'London', updatedBy: user.id })
  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: s.headers })).json().user.name, 'New Name', '/auth/me sees the change')

  for (const [field, value] of [['role', 'admin'], ['workspaceId', user.id], ['type', 'admin'], ['status', 'suspended'], ['createdBy', user.id], ['passwordHash', 'x'], ['verifiedAt', null]] as const) {
    const res = await env.app.inject({ method: 'PATCH', url: '/users/me', headers: s.headers, payload: { [field]: value } })
    t.equal(res.statusCode, 400, `${field} is refused`)
    t.equal(res.json().errors[0].pointer, `/body/${field}`)
  }
  const row = await env.app.db.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow()
  t.match(row, { type: 'customer', status: 'active', createdBy: user.id })
  const me = await env.app.inject({ method: 'GET', url: '/users/me', headers: s.headers })
  t.equal(me.json().type, 'customer')
  t.notOk('passwordHash' in me.json())
})

t.test('an email change is confirmed by a code sent to the new address', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { smtp: true, worker: true, clock })
  const user = await createUser(env)
  const s = await login(env.app, user.email)
  const newEmail = uniqueEmail('moved')
  const started = await env.app.inject({ method: 'PATCH', url: '/users/me', headers: s.headers, payload: { email: newEmail } })
  t.equal(started.statusCode, 200)
  t.equal(started.json().pendingEmail.email, newEmail)
  t.equal(started.json().user.email, user.email, 'unchanged until confirmed')
  const code = codeFrom(await env.smtp!.waitFor((m) => m.to.includes(newEmail)))
  const wrong = await env.app.inject({ method: 'POST', url: '/users/me/email/verify', headers: s.headers, payload: { code: code === '000000' ? '111111' : '000000' } })
  t.equal(wrong.statusCode, 400)
  const ok = await env.app.inject({ method: 'POST', url: '/users/me/email/verify', headers: s.headers, payload: { code } })
  t.equal(ok.statusCode, 200)
  t.match(ok.json(), { email: newEmail, isProfileReverified: true })
  t.ok(ok.json().profileReverifiedAt)
  await login(env.app, newEmail)

  clock.advance(11 * 60_000)
  const stale = await env.app.inject({ method: 'PATCH', url: '/users/me', headers: s.headers, payload: { email: uniqueEmail() } })
  t.equal(stale.statusCode, 401)
  t.equal(stale.json().code, 'REAUTH_REQUIRED', 'an email change needs a recent sign-in')
})

t.test('a confirmed email change notifies the old address, which cannot be used to sign in any more', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const user = await createUser(env, { name: 'Olga Oldaddress' })
  const s = await login(env.app, user.email)
  const newEmail = uniqueEmail('moved')
  t.equal((await env.app.inject({ method: 'PATCH', url: '/users/me', headers: s.headers, payload: { email: newEmail } })).statusCode, 200)
  const code = codeFrom(await env.smtp!.waitFor((m) => m.to.includes(newEmail)))
  const changedMails = () => env.smtp!.messages.filter((m) => m.to.includes(user.email) && /email address was changed/i.test(m.subject))
  t.equal(changedMails().length, 0, 'nothing is said to the old address before the change is confirmed')

  t.equal((await env.app.inject({ method: 'POST', url: '/users/me/email/verify', headers: s.headers, payload: { code } })).statusCode, 200)
  const notice = await env.smtp!.waitFor((m) => m.to.includes(user.email) && /email address was changed/i.test(m.subject))
  t.same(notice.to, [user.email], 'sent to the old address only')
  t.match(notice.text, /Olga Oldaddress/)
  const [local, domain] = newEmail.split('@') as [string, string]
  for (const part of [notice.text, notice.html]) {
    t.ok(part.includes(`${local[0]}***@${domain}`), 'names the new address, masked')
    t.notOk(part.includes(newEmail), 'but not in full')
    t.match(part, /\/forgot-password/, 'and says how to get the account back')
  }
  t.equal(changedMails().length, 1, 'one notice')
  t.notOk(env.smtp!.messages.some((m) => m.to.includes(newEmail) && /email address was changed/i.test(m.subject)), 'the new address gets no such notice')
  const old = await env.app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: PASSWORD } })
  t.equal(old.statusCode, 401, 'the old address signs in no more')
})

t.test('email changes are capped per account per hour', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const s = await login(env.app, user.email)
  const results = await Promise.all(Array.from({ length: 8 }, () => env.app.inject({ method: 'PATCH', url: '/users/me', headers: s.headers, payload: { email: uniqueEmail('target') } })))
  t.equal(results.filter((r) => r.statusCode === 200).length, 5, 'five codes sent')
  const limited = results.filter((r) => r.statusCode === 429)
  t.equal(limited.length, 3, 'the rest refused')
  t.equal(limited[0]!.json().code, 'RATE_LIMITED')
  t.ok(Number(limited[0]!.headers['retry-after']) > 0)
})

t.test('addresses: the first is the default, a new default takes over, deleting promotes another', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const other = await createUser(env)
  const s = await login(env.app, user.email)
  const add = (body: object) => env.app.inject({ method: 'POST', url: '/users/me/addresses', headers: s.headers, payload: body })
  const home = (await add({ street: '1 Home St', city: 'Leeds', zipCode: 'LS1', country: 'GB' })).json()
  t.equal(home.isDefault, true, 'the first address is the default')
  const work = (await add({ street: '2 Work Rd', city: 'York', zipCode: 'YO1', country: 'GB', isDefault: true })).json()
  t.equal(work.isDefault, true)
  let list = (await env.app.inject({ method: 'GET', url: '/users/me/addresses', headers: s.headers })).json().items
  t.same(list.map((a: any) => [a.id, a.isDefault]), [[work.id, true], [home.id, false]], 'one default, listed first')

  const patched = await env.app.inject({ method: 'PATCH', url: `/users/me/addresses/${home.id}`, headers: s.headers, payload: { isDefault: true, city: 'Leeds City' } })
  t.match(patched.json(), { isDefault: true, city: 'Leeds City' })
  t.equal((await env.app.inject({ method: 'DELETE', url: `/users/me/addresses/${home.id}`, headers: s.headers })).statusCode, 204)
  list = (await env.app.inject({ method: 'GET', url: '/users/me/addresses', headers: s.headers })).json().items
  t.same(list.map((a: any) => [a.id, a.isDefault]), [[work.id, true]], 'the remaining address became the default')

  const foreign = await env.app.inject({ method: 'PATCH', url: `/users/me/addresses/${work.id}`, headers: (await login(env.app, other.email)).headers, payload: { city: 'X' } })
  t.equal(foreign.statusCode, 404, 'another user\'s address is not found')
  const bad = await add({ street: '3', city: 'Z', zipCode: 'Z1', country: 'Britain' })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().errors[0].pointer, '/body/country')
})

t.test('admins search users by part of a name or email and page through them', async (t) => {
  const env = await createTestEnv(t)
  const admin = await createUser(env, { type: 'admin' })
  const s = await login(env.app, admin.email)
  for (let i = 0; i < 50; i++) {
    await insertUser(env.app.db, { email: `shopper${String(i).padStart(2, '0')}@mall.example`, name: `Shopper Number ${i}`, type: i % 5 === 0 ? 'vendor' : 'customer', status: i % 10 === 0 ? 'suspended' : 'active' }, env.app.random)
  }
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res: { statusCode: number, json: () => any } = await env.app.inject({ method: 'GET', url: `/users?q=shopper&limit=20${cursor ? `&cursor=${cursor}` : ''}`, headers: s.headers })
    t.equal(res.statusCode, 200)
    const body: { items: Array<{ email: string }>, nextCursor: string | null } = res.json()
    seen.push(...body.items.map((u) => u.email))
    cursor = body.nextCursor
    pages++
  } while (cursor && pages < 10)
  t.equal(pages, 3, 'three pages of 20')
  t.equal(seen.length, 50, 'every match once')
  t.equal(new Set(seen).size, 50, 'no duplicates')

  const byName = await env.app.inject({ method: 'GET', url: '/users?q=number 4', headers: s.headers })
  t.same(byName.json().items.map((u: any) => u.name).sort(), ['Shopper Number 4', 'Shopper Number 40', 'Shopper Number 41', 'Shopper Number 42', 'Shopper Number 43', 'Shopper Number 44', 'Shopper Number 45', 'Shopper Number 46', 'Shopper Number 47', 'Shopper Number 48', 'Shopper Number 49'])
  const byEmail = await env.app.inject({ method: 'GET', url: '/users?q=PER07@MALL', headers: s.headers })
  t.same(byEmail.json().items.map((u: any) => u.email), ['shopper07@mall.example'], 'case-insensitive, partial email')
  const filtered = await env.app.inject({ method: 'GET', url: '/users?q=shopper&type=vendor&status=suspended', headers: s.headers })
  t.same(filtered.json().items.map((u: any) => u.email).sort(), ['shopper00@mall.example', 'shopper10@mall.example', 'shopper20@mall.example', 'shopper30@mall.example', 'shopper40@mall.example'])
  const wildcard = await env.app.inject({ method: 'GET', url: '/users?q=%25', headers: s.headers })
  t.equal(wildcard.json().items.length, 0, 'a % in the query is a literal, not a wildcard')
  const customer = await login(env.app, (await createUser(env)).email)
  t.equal((await env.app.inject({ method: 'GET', url: '/users', headers: customer.headers })).statusCode, 403)
})

t.test('admins create, edit, suspend and delete users; suspension kills live tokens', async (t) => {
  const env = await createTestEnv(t)
  const admin = await createUser(env, { type: 'admin' })
  const s = await login(env.app, admin.email)
  const created = await env.app.inject({ method: 'POST', url: '/users', headers: s.headers, payload: { email: 'made@example.test', name: 'Made', type: 'vendor', password: 'a long password' } })
  t.equal(created.statusCode, 201)
  t.match(created.json(), { email: 'made@example.test', type: 'vendor', status: 'active', createdBy: admin.id })
  const dup = await env.app.inject({ method: 'POST', url: '/users', headers: s.headers, payload: { email: 'made@example.test', name: 'Again', type: 'customer' } })
  t.equal(dup.statusCode, 409)
  const id = created.json().id
  const made = await login(env.app, 'made@example.test', 'a long password')

  const edited = await env.app.inject({ method: 'PATCH', url: `/users/${id}`, headers: s.headers, payload: { name: 'Made Better', type: 'customer' } })
  t.match(edited.json(), { name: 'Made Better', type: 'customer', updatedBy: admin.id })
  const mass = await env.app.inject({ method: 'PATCH', url: `/users/${id}`, headers: s.headers, payload: { status: 'active', createdBy: admin.id } })
  t.equal(mass.statusCode, 400, 'status has its own route; audit columns are not editable')

  t.equal((await env.app.inject({ method: 'GET', url: '/auth/me', headers: made.headers })).statusCode, 200)
  const suspended = await env.app.inject({ method: 'PATCH', url: `/users/${id}/status`, headers: s.headers, payload: { status: 'suspended' } })
  t.equal(suspended.statusCode, 200)
  t.equal(suspended.json().status, 'suspended')
  const after = await env.app.inject({ method: 'GET', url: '/auth/me', headers: made.headers })
  t.equal(after.statusCode, 401, 'the suspended user\'s live token fails on the next request')
  t.equal((await env.app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'made@example.test', password: 'a long password' } })).statusCode, 401)

  const self = await env.app.inject({ method: 'PATCH', url: `/users/${admin.id}/status`, headers: s.headers, payload: { status: 'suspended' } })
  t.equal(self.statusCode, 409, 'no self-lockout')
  t.equal((await env.app.inject({ method: 'DELETE', url: `/users/${id}`, headers: s.headers })).statusCode, 204)
  t.equal((await env.app.inject({ method: 'GET', url: `/users/${id}`, headers: s.headers })).statusCode, 404)
  const recreated = await env.app.inject({ method: 'POST', url: '/users', headers: s.headers, payload: { email: 'made@example.test', name: 'Fresh', type: 'customer' } })
  t.equal(recreated.statusCode, 201, 'a deleted account frees its email')
})

// A route's own limit holds for signed-in callers too: the exemption of signed-in requests from
// the per-IP limit (they are limited per session) once waived it as well, so the phone routes'
// AUTH_RATE_LIMIT_MAX a minute never applied to the callers they are for.
t.test('the phone routes\' own rate limit applies to signed-in callers', async (t) => {
  const env = await createTestEnv(t)
  const user = await createUser(env)
  const s = await login(env.app, user.email)
  const max = env.app.config.authRateLimitMax
  const statuses: number[] = []
  for (let i = 0; i < max + 2; i++) statuses.push((await env.app.inject({ method: 'POST', url: '/users/me/phone/verify', headers: s.headers, payload: { code: '000000' } })).statusCode)
  t.same(statuses.slice(0, max).filter((code) => code !== 400), [], `the first ${max} are answered (a wrong code)`)
  t.same(statuses.slice(max), [429, 429], 'the rest are refused by the route\'s limit')
})
