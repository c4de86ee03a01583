import { randomUUID } from 'node:crypto'
import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { multipart, PNG } from '../../helpers/multipart.ts'
import { ROLES, tenancy, type Role } from '../../helpers/tenancy.ts'
import { PERMISSIONS, type Permission } from '../../../src/modules/workspaces/permissions.ts'

// Every route under /workspaces/:id, for every role: allowed roles get past the guard; a member
// without the permission gets 403; a non-member (or another workspace's owner) gets 404 and
// learns nothing. Requests are built so that, once allowed, they are harmless to repeat.
interface RouteCase {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  path: (ws: string, ctx: { memberId: string }) => string
  permission: Permission
  body?: () => { payload?: unknown, headers?: Record<string, string> }
}

const ROUTES: RouteCase[] = [
  { method: 'GET', path: (ws) => `/workspaces/${ws}`, permission: 'workspace:read' },
  { method: 'PATCH', path: (ws) => `/workspaces/${ws}`, permission: 'workspace:update', body: () => ({ payload: { primaryColor: '#123456' } }) },
  { method: 'PUT', path: (ws) => `/workspaces/${ws}/logo`, permission: 'workspace:update', body: () => multipart([{ field: 'logo', filename: 'l.png', contentType: 'image/png', content: PNG }]) },
  { method: 'POST', path: (ws) => `/workspaces/${ws}/transfer-ownership`, permission: 'workspace:transfer', body: () => ({ payload: { userId: randomUUID() } }) },
  { method: 'GET', path: (ws) => `/workspaces/${ws}/members`, permission: 'members:read' },
  { method: 'PATCH', path: (ws, { memberId }) => `/workspaces/${ws}/members/${memberId}`, permission: 'members:manage', body: () => ({ payload: { role: 'member' } }) },
  { method: 'DELETE', path: (ws) => `/workspaces/${ws}/members/${randomUUID()}`, permission: 'members:manage' },
  { method: 'POST', path: (ws) => `/workspaces/${ws}/invitations`, permission: 'members:manage', body: () => ({ payload: { email: `invitee-${randomUUID().slice(0, 8)}@example.test`, role: 'member' } }) },
  { method: 'GET', path: (ws) => `/workspaces/${ws}/invitations`, permission: 'members:manage' },
  { method: 'DELETE', path: (ws) => `/workspaces/${ws}/invitations/${randomUUID()}`, permission: 'members:manage' },
  // Last: it deletes the workspace for the owner.
  { method: 'DELETE', path: (ws) => `/workspaces/${ws}`, permission: 'workspace:delete' }
]

export function expected (role: Role, permission: Permission): 'allowed' | 403 | 404 {
  if (role === 'non-member' || role === 'other-owner') return 404
  return (PERMISSIONS[permission] as readonly string[]).includes(role) ? 'allowed' : 403
}

t.test('the workspace role matrix', async (t) => {
  const env = await createTestEnv(t)
  const world = await tenancy(env)
  // Owners last within each route, so a destructive success cannot hide the others' answers.
  const order: Role[] = ['member', 'admin', 'non-member', 'other-owner', 'owner']
  t.same([...order].sort(), [...ROLES].sort())
  for (const route of ROUTES) {
    for (const role of order) {
      const extra = route.body?.() ?? {}
      const res = await env.app.inject({
        method: route.method,
        url: route.path(world.workspaceId, { memberId: world.users.member.id }),
        headers: { ...world.users[role].session.headers, ...extra.headers },
        ...(extra.payload !== undefined ? { payload: extra.payload as never } : {})
      })
      const want = expected(role, route.permission)
      const label = `${route.method} ${route.path(':id', { memberId: ':userId' })} as ${role}`
      if (want === 'allowed') {
        const guardRefused = res.statusCode === 403 || res.statusCode === 401 || (res.statusCode === 404 && /workspace not found/.test(res.json().detail))
        t.notOk(guardRefused, `${label}: allowed (${res.statusCode})`)
        t.ok(res.statusCode < 500, `${label}: no server error`)
      } else {
        t.equal(res.statusCode, want, `${label}: ${want}`)
        if (want === 404) t.match(res.json().detail, /workspace not found/, `${label}: indistinguishable from a missing workspace`)
      }
    }
  }
  const missing = await env.app.inject({ method: 'GET', url: `/workspaces/${randomUUID()}`, headers: world.users.owner.session.headers })
  t.equal(missing.statusCode, 404, 'a made-up id answers the same 404')
})
