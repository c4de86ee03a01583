import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { createUser, login } from '../../helpers/auth.ts'
import { tenancy } from '../../helpers/tenancy.ts'
import { ManualClock } from '../../../src/platform/clock.ts'

const tokenFrom = (text: string) => decodeURIComponent(/token=([^\s"&<]+)/.exec(text)![1]!)

t.test('an invitation arrives by email, is accepted once, by the invited email only', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const world = await tenancy(env)
  const invitee = await createUser(env)
  const stranger = await createUser(env)

  const res = await env.app.inject({ method: 'POST', url: `/workspaces/${world.workspaceId}/invitations`, headers: world.users.admin.session.headers, payload: { email: invitee.email.toUpperCase(), role: 'admin' } })
  t.equal(res.statusCode, 201)
  t.match(res.json(), { email: invitee.email, role: 'admin', status: 'pending' })
  t.notOk('token' in res.json(), 'the token is only in the email')

  const mail = await env.smtp!.waitFor((m) => m.to.includes(invitee.email))
  t.match(mail.subject, /invited you to/)
  const token = tokenFrom(mail.text)
  t.ok(mail.html.includes(encodeURIComponent(token)), 'the link is in the HTML part too')
  const outbox = await env.app.db.selectFrom('outbox').select(['queue', 'jobName', 'relayedAt']).execute()
  t.same(outbox.map((o) => [o.queue, o.jobName]), [['email', 'workspace-invitation']], 'sent through the outbox')

  const wrongUser = await env.app.inject({ method: 'POST', url: '/invitations/accept', headers: (await login(env.app, stranger.email)).headers, payload: { token } })
  t.equal(wrongUser.statusCode, 403)
  t.equal(wrongUser.json().code, 'INVITATION_EMAIL_MISMATCH')

  const inviteeSession = await login(env.app, invitee.email)
  const accepted = await env.app.inject({ method: 'POST', url: '/invitations/accept', headers: inviteeSession.headers, payload: { token } })
  t.equal(accepted.statusCode, 200)
  t.equal(accepted.json().role, 'admin')
  t.equal(accepted.json().workspace.id, world.workspaceId)

  const members = await env.app.inject({ method: 'GET', url: `/workspaces/${world.workspaceId}/members`, headers: inviteeSession.headers })
  t.equal(members.statusCode, 200, 'the new member can read the workspace')
  t.ok(members.json().items.find((m: any) => m.userId === invitee.id && m.role === 'admin'))
  const me = await env.app.inject({ method: 'GET', url: '/auth/me', headers: inviteeSession.headers })
  t.ok(me.json().workspaces.find((w: any) => w.workspaceId === world.workspaceId && w.role === 'admin'), '/auth/me shows it at once')

  const again = await env.app.inject({ method: 'POST', url: '/invitations/accept', headers: inviteeSession.headers, payload: { token } })
  t.equal(again.statusCode, 410)
  t.equal(again.json().code, 'INVITATION_USED', 'single use')
  const list = await env.app.inject({ method: 'GET', url: `/workspaces/${world.workspaceId}/invitations`, headers: world.users.owner.session.headers })
  t.equal(list.json().items[0].status, 'accepted')
})

t.test('expired, revoked and unknown invitations are refused', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { smtp: true, worker: true, clock })
  const world = await tenancy(env)
  const a = await createUser(env)
  const b = await createUser(env)
  for (const u of [a, b]) {
    t.equal((await env.app.inject({ method: 'POST', url: `/workspaces/${world.workspaceId}/invitations`, headers: world.users.owner.session.headers, payload: { email: u.email, role: 'member' } })).statusCode, 201)
  }
  const tokenA = tokenFrom((await env.smtp!.waitFor((m) => m.to.includes(a.email))).text)
  const tokenB = tokenFrom((await env.smtp!.waitFor((m) => m.to.includes(b.email))).text)

  const list = (await env.app.inject({ method: 'GET', url: `/workspaces/${world.workspaceId}/invitations`, headers: world.users.owner.session.headers })).json().items
  const invitationB = list.find((i: any) => i.email === b.email)
  t.equal((await env.app.inject({ method: 'DELETE', url: `/workspaces/${world.workspaceId}/invitations/${invitationB.id}`, headers: world.users.owner.session.headers })).statusCode, 204)
  const revoked = await env.app.inject({ method: 'POST', url: '/invitations/accept', headers: (await login(env.app, b.email)).headers, payload: { token: tokenB } })
  t.equal(revoked.statusCode, 410)
  t.equal(revoked.json().code, 'INVITATION_REVOKED')

  clock.advance(7 * 24 * 3600_000 + 1000)
  const expired = await env.app.inject({ method: 'POST', url: '/invitations/accept', headers: (await login(env.app, a.email)).headers, payload: { token: tokenA } })
  t.equal(expired.statusCode, 410)
  t.equal(expired.json().code, 'INVITATION_EXPIRED')
  // A week later the owner's old session has idled out too: sign in again.
  const owner = await login(env.app, world.users.owner.email)
  const status = (await env.app.inject({ method: 'GET', url: `/workspaces/${world.workspaceId}/invitations`, headers: owner.headers })).json().items
  t.equal(status.find((i: any) => i.email === a.email).status, 'expired')

  const unknown = await env.app.inject({ method: 'POST', url: '/invitations/accept', headers: (await login(env.app, a.email)).headers, payload: { token: 'x'.repeat(43) } })
  t.equal(unknown.statusCode, 404)
  const members = await env.app.db.selectFrom('workspaceMembers').select('userId').where('workspaceId', '=', world.workspaceId).execute()
  t.equal(members.length, 3, 'nobody joined')
})

t.test('inviting a member again is refused; a new invitation replaces a pending one', async (t) => {
  const env = await createTestEnv(t)
  const world = await tenancy(env)
  const dup = await env.app.inject({ method: 'POST', url: `/workspaces/${world.workspaceId}/invitations`, headers: world.users.owner.session.headers, payload: { email: world.users.member.email, role: 'member' } })
  t.equal(dup.statusCode, 409)
  t.equal(dup.json().code, 'ALREADY_MEMBER')
  const email = 'twice@example.test'
  for (let i = 0; i < 2; i++) await env.app.inject({ method: 'POST', url: `/workspaces/${world.workspaceId}/invitations`, headers: world.users.owner.session.headers, payload: { email, role: 'member' } })
  const items = (await env.app.inject({ method: 'GET', url: `/workspaces/${world.workspaceId}/invitations`, headers: world.users.owner.session.headers })).json().items
  t.same(items.map((i: any) => i.status), ['pending', 'revoked'])
  const bad = await env.app.inject({ method: 'POST', url: `/workspaces/${world.workspaceId}/invitations`, headers: world.users.owner.session.headers, payload: { email, role: 'owner' } })
  t.equal(bad.statusCode, 400, 'nobody is invited as owner')
  t.equal(bad.json().errors[0].pointer, '/body/role')
})
