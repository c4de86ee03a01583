// What other modules (and app.ts, worker.ts, schemas.ts, scripts) may use of `workspaces`.
export { workspaceSells, lockSellingWorkspaces, type SellerScope } from './selling.ts'
export { workspaceStores, lockLiveWorkspace, createWorkspace, type ContentRetirer } from './workspace.ts'
export { listMemberships, membershipRole, type Membership } from './members.ts'
export { WorkspaceView, WorkspaceRole } from './schemas.ts'
export { can, type Permission } from './permissions.ts'
export { default as workspaceGuard, workspaceOf, type WorkspaceAccess } from './guard.ts'
export { workspaceInvitationEmail } from './emails.ts'
export * as workspaceEmails from './emails.ts'
