import type { Queryable } from '../../platform/db.ts'
import { newId } from '../../platform/clock.ts'

// Workspaces: the tenants. Issue-level features (members, invitations) build on these.

export type WorkspaceRole = 'owner' | 'admin' | 'member'

export interface WorkspaceView {
  id: string
  name: string
  slug: string
  ownerId: string
  logoUrl: string | null
  primaryColor: string | null
  settings: Record<string, unknown>
  createdAt: Date
  updatedAt: Date
}

export interface Membership { workspaceId: string, name: string, slug: string, role: WorkspaceRole }

export function slugify (name: string): string {
  const slug = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48)
  return slug || 'workspace'
}

/** Creates a workspace with `ownerId` as its owner, in the caller's transaction. */
export async function createWorkspace (trx: Queryable, input: { name: string, slug?: string, ownerId: string }): Promise<WorkspaceView> {
  const base = input.slug ?? slugify(input.name)
  // A requested slug must be free; a derived one gets a short suffix until it is.
  for (let attempt = 0; attempt < 8; attempt++) {
    const slug = attempt === 0 ? base : `${base.slice(0, 43)}-${newId().slice(-4)}`
    const id = newId()
    const row = await trx.insertInto('workspaces')
      .values({ id, name: input.name, slug, ownerId: input.ownerId, createdBy: input.ownerId, updatedBy: input.ownerId })
      .onConflict((oc) => oc.column('slug').where('deletedAt', 'is', null).doNothing())
      .returningAll()
      .executeTakeFirst()
    if (row) {
      await trx.insertInto('workspaceMembers').values({ workspaceId: id, userId: input.ownerId, role: 'owner' }).execute()
      return toWorkspaceView(row)
    }
    if (input.slug !== undefined) break
  }
  throw Object.assign(new Error('slug taken'), { code: 'SLUG_TAKEN' })
}

export function toWorkspaceView (row: { id: string, name: string, slug: string, ownerId: string, logoUrl: string | null, primaryColor: string | null, settings: unknown, createdAt: Date, updatedAt: Date }): WorkspaceView {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    ownerId: row.ownerId,
    logoUrl: row.logoUrl,
    primaryColor: row.primaryColor,
    settings: (row.settings ?? {}) as Record<string, unknown>,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt
  }
}

/** The live workspaces a user belongs to, with their role. */
export async function listMemberships (db: Queryable, userId: string): Promise<Membership[]> {
  const rows = await db.selectFrom('workspaceMembers as m')
    .innerJoin('workspaces as w', 'w.id', 'm.workspaceId')
    .select(['w.id as workspaceId', 'w.name', 'w.slug', 'm.role'])
    .where('m.userId', '=', userId)
    .where('w.deletedAt', 'is', null)
    .orderBy('m.createdAt')
    .execute()
  return rows.map((r) => ({ ...r, role: r.role as WorkspaceRole }))
}

export async function membershipRole (db: Queryable, userId: string, workspaceId: string): Promise<WorkspaceRole | null> {
  const row = await db.selectFrom('workspaceMembers as m')
    .innerJoin('workspaces as w', 'w.id', 'm.workspaceId')
    .select('m.role')
    .where('m.userId', '=', userId)
    .where('m.workspaceId', '=', workspaceId)
    .where('w.deletedAt', 'is', null)
    .executeTakeFirst()
  return (row?.role as WorkspaceRole | undefined) ?? null
}
