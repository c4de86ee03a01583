import t from 'tap'
import { createTestEnv } from '../helpers/app.ts'
import { login } from '../helpers/auth.ts'
import { DEMO_PASSWORD, seed } from '../../scripts/seed.ts'

t.test('the seed builds the demo marketplace once; a second run adds nothing', async (t) => {
  const env = await createTestEnv(t)
  const first = await seed(env.app.deps)
  t.ok(first.created > 0)
  const count = async (table: 'users' | 'workspaces' | 'workspaceMembers' | 'vendorProfiles' | 'addresses') =>
    Number((await env.app.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
  const before = { users: await count('users'), workspaces: await count('workspaces'), members: await count('workspaceMembers'), profiles: await count('vendorProfiles'), addresses: await count('addresses') }
  t.match(before, { users: 9, workspaces: 3, members: 5, profiles: 3, addresses: 3 })

  const second = await seed(env.app.deps)
  t.equal(second.created, 0, 'idempotent')
  t.same({ users: await count('users'), workspaces: await count('workspaces'), members: await count('workspaceMembers'), profiles: await count('vendorProfiles'), addresses: await count('addresses') }, before)

  for (const u of first.users) {
    const s = await login(env.app, u.email, DEMO_PASSWORD)
    t.equal(s.body.user.type, u.type, `${u.email} signs in`)
  }
  const statuses = await env.app.db.selectFrom('vendorProfiles').select('reviewStatus').orderBy('reviewStatus').execute()
  t.same(statuses.map((s) => s.reviewStatus), ['approved', 'approved', 'pending'])
})
