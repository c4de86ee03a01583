import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { tenancy } from '../../helpers/tenancy.ts'
import { createUser, login } from '../../helpers/auth.ts'

// Two ownership transfers racing (the owner's double click, or two tabs) must leave exactly one
// owner: the rows the decision reads (the workspace and the memberships) are locked inside the
// transaction, and the actor's ownership is re-checked there, not only by the route's guard.

async function ownersOf (env: TestEnv, workspaceId: string) {
  const owners = await env.app.db.selectFrom('workspaceMembers').select('userId').where('workspaceId', '=', workspaceId).where('role', '=', 'owner').execute()
  const workspace = await env.app.db.selectFrom('workspaces').select('ownerId').where('id', '=', workspaceId).executeTakeFirstOrThrow()
  return { owners: owners.map((o) => o.userId), ownerId: workspace.ownerId }
}

t.test('concurrent transfers by the owner to different members leave exactly one owner, every round', async (t) => {
  const env = await createTestEnv(t)
  const world = await tenancy(env)
  const extra = await Promise.all([0, 1, 2].map(async (i) => {
    const user = await createUser(env, { type: 'vendor', name: `Member ${i}` })
    await env.app.db.insertInto('workspaceMembers').values({ workspaceId: world.workspaceId, userId: user.id, role: 'member' }).execute()
    return { id: user.id, session: await login(env.app, user.email) }
  }))
  const people = [world.users.owner, world.users.admin, world.users.member, ...extra].map((p) => ({ id: p.id, headers: p.session.headers }))

  let owner = people[0]!
  for (let round = 0; round < 6; round++) {
    const targets = people.filter((p) => p.id !== owner.id)
    const answers = await Promise.all(targets.map((target) => env.app.inject({
      method: 'POST', url: `/workspaces/${world.workspaceId}/transfer-ownership`, headers: owner.headers, payload: { userId: target.id }
    })))
    const won = answers.filter((a) => a.statusCode === 200)
    t.equal(won.length, 1, `round ${round}: exactly one transfer wins`)
    for (const lost of answers.filter((a) => a.statusCode !== 200)) {
      t.ok([403, 409].includes(lost.statusCode), `round ${round}: the others are refused (${lost.statusCode} ${lost.json().code})`)
    }
    const { owners, ownerId } = await ownersOf(env, world.workspaceId)
    t.equal(owners.length, 1, `round ${round}: exactly one member has the owner role`)
    t.equal(ownerId, owners[0], `round ${round}: workspaces.owner_id names that member`)
    t.equal(won[0]?.json().ownerId, ownerId, `round ${round}: the winner's answer matches the database`)
    const former = await env.app.db.selectFrom('workspaceMembers').select('role').where('workspaceId', '=', world.workspaceId).where('userId', '=', owner.id).executeTakeFirstOrThrow()
    t.equal(former.role, 'admin', `round ${round}: the former owner is an admin`)
    owner = people.find((p) => p.id === ownerId)!
  }
})

t.test('a transfer racing a demotion of the new owner keeps one owner', async (t) => {
  const env = await createTestEnv(t)
  const world = await tenancy(env)
  const { owner, admin, member } = world.users
  const [transfer, demote] = await Promise.all([
    env.app.inject({ method: 'POST', url: `/workspaces/${world.workspaceId}/transfer-ownership`, headers: owner.session.headers, payload: { userId: member.id } }),
    env.app.inject({ method: 'PATCH', url: `/workspaces/${world.workspaceId}/members/${member.id}`, headers: admin.session.headers, payload: { role: 'admin' } })
  ])
  t.equal(transfer.statusCode, 200)
  t.ok([200, 409].includes(demote.statusCode), `the role change either ran first or met the new owner (${demote.statusCode})`)
  const { owners, ownerId } = await ownersOf(env, world.workspaceId)
  t.same(owners, [member.id], 'the new owner has the owner role')
  t.equal(ownerId, member.id)
})
