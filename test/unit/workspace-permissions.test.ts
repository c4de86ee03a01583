import t from 'tap'
import { can, permissionsOf, PERMISSIONS, type Permission, type WorkspaceRole } from '../../src/modules/workspaces/permissions.ts'

// SPEC 7.1, role by role, written out by hand: a change to the module's table must be a
// deliberate change here too.
const ROLES: WorkspaceRole[] = ['owner', 'admin', 'member']

const EXPECTED: Record<Permission, Record<WorkspaceRole, boolean>> = {
  'workspace:read': { owner: true, admin: true, member: true },
  'workspace:update': { owner: true, admin: true, member: false },
  'workspace:delete': { owner: true, admin: false, member: false },
  'workspace:transfer': { owner: true, admin: false, member: false },
  'members:read': { owner: true, admin: true, member: true },
  'members:manage': { owner: true, admin: true, member: false },
  'products:write': { owner: true, admin: true, member: true },
  'orders:manage': { owner: true, admin: true, member: true },
  'orders:refund': { owner: true, admin: true, member: false },
  'payouts:manage': { owner: true, admin: false, member: false }
}

t.test('the module knows exactly the permissions listed here', async (t) => {
  t.same(Object.keys(PERMISSIONS).sort(), Object.keys(EXPECTED).sort())
})

t.test('each role has exactly the permissions listed here', async (t) => {
  for (const [permission, byRole] of Object.entries(EXPECTED) as Array<[Permission, Record<WorkspaceRole, boolean>]>) {
    for (const role of ROLES) {
      t.equal(can(role, permission), byRole[role], `${role} ${byRole[role] ? 'may' : 'may not'} ${permission}`)
    }
  }
})

t.test('permissionsOf lists a role\'s permissions', async (t) => {
  t.same(permissionsOf('owner').sort(), [
    'members:manage', 'members:read', 'orders:manage', 'orders:refund', 'payouts:manage', 'products:write',
    'workspace:delete', 'workspace:read', 'workspace:transfer', 'workspace:update'
  ])
  t.same(permissionsOf('admin').sort(), [
    'members:manage', 'members:read', 'orders:manage', 'orders:refund', 'products:write',
    'workspace:read', 'workspace:update'
  ])
  t.same(permissionsOf('member').sort(), ['members:read', 'orders:manage', 'products:write', 'workspace:read'])
})

t.test('an unknown role is granted nothing', async (t) => {
  for (const permission of Object.keys(EXPECTED) as Permission[]) {
    t.notOk(can('guest' as WorkspaceRole, permission), `guest may not ${permission}`)
  }
})
