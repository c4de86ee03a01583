import type { WorkspaceRole } from './schemas.ts'

// The permission table of SPEC 7.1, defined once. Routes name a permission; roles grant them.

export type { WorkspaceRole }

export const PERMISSIONS = {
  'workspace:read': ['owner', 'admin', 'member'],
  'workspace:update': ['owner', 'admin'],
  'workspace:delete': ['owner'],
  'workspace:transfer': ['owner'],
  'members:read': ['owner', 'admin', 'member'],
  'members:manage': ['owner', 'admin'],
  'products:write': ['owner', 'admin', 'member'],
  'orders:manage': ['owner', 'admin', 'member'],
  'orders:refund': ['owner', 'admin'],
  /** Stripe Connect onboarding of the workspace's payouts (issue 14): the owner's own bank details. */
  'payouts:manage': ['owner']
} as const satisfies Record<string, readonly WorkspaceRole[]>

export type Permission = keyof typeof PERMISSIONS

export function can (role: WorkspaceRole, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly WorkspaceRole[]).includes(role)
}

export function permissionsOf (role: WorkspaceRole): Permission[] {
  return (Object.keys(PERMISSIONS) as Permission[]).filter((p) => can(role, p))
}
