import { randomUUID } from 'node:crypto'
import type { TestEnv } from './app.ts'
import { createUser, login, type SignedIn } from './auth.ts'
import { createWorkspace } from '../../src/modules/workspaces/public.ts'

export type Role = 'owner' | 'admin' | 'member' | 'non-member' | 'other-owner'
export const ROLES: Role[] = ['owner', 'admin', 'member', 'non-member', 'other-owner']

export interface Tenancy {
  workspaceId: string
  otherWorkspaceId: string
  users: Record<Role, { id: string, email: string, session: SignedIn }>
}

/** Workspace A with an owner, an admin and a member; workspace B with its own owner; an outsider. */
export async function tenancy (env: TestEnv): Promise<Tenancy> {
  const make = async (label: string) => {
    const user = await createUser(env, { type: 'vendor', name: label })
    return { id: user.id, email: user.email, session: await login(env.app, user.email) }
  }
  const users = {
    owner: await make('Owner'),
    admin: await make('Admin'),
    member: await make('Member'),
    'non-member': await make('Outsider'),
    'other-owner': await make('Other Owner')
  }
  const [a, b] = await env.app.db.transaction().execute(async (trx) => {
    const a = await createWorkspace(trx, { name: `Store ${randomUUID().slice(0, 6)}`, ownerId: users.owner.id }, env.app.random)
    const b = await createWorkspace(trx, { name: `Rival ${randomUUID().slice(0, 6)}`, ownerId: users['other-owner'].id }, env.app.random)
    await trx.insertInto('workspaceMembers').values([
      { workspaceId: a.id, userId: users.admin.id, role: 'admin' },
      { workspaceId: a.id, userId: users.member.id, role: 'member' }
    ]).execute()
    return [a, b]
  })
  return { workspaceId: a.id, otherWorkspaceId: b.id, users }
}
