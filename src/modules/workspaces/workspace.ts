import type { Selectable } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { Queryable, Trx } from '../../platform/db.ts'
import type { Workspaces } from '../../platform/db-types.ts'
import type { Random } from '../../platform/clock.ts'
import { Conflict, NotFound, isUniqueViolation } from '../../platform/errors.ts'
import type { Principal } from '../../platform/principal.ts'
import { bumpProfileVersion } from '../../platform/profile-version.ts'
import { publicUrl } from '../../platform/public-url.ts'
import { removeFilesLater } from '../../platform/storage.ts'
import type { StoredUpload } from '../../platform/uploads.ts'
import { bumpMembers, memberIds } from './members.ts'
import type { CreateWorkspaceBody, LogoResponse, UpdateWorkspaceBody, WorkspaceRole, WorkspaceView } from './schemas.ts'

// Workspaces are the tenants: a vendor's store, its members, and everything under /workspaces/:wid.

type WorkspaceRow = Selectable<Workspaces>

/**
 * Retires what another module keeps under a workspace being deleted (its products), in the
 * deleting transaction; returns the storage keys of files to remove. Passed in by app.ts, so
 * workspaces need not know those modules.
 */
export type ContentRetirer = (trx: Trx, workspaceId: string, now: Date) => Promise<string[]>

/**
 * Brings what the public catalog lists of a workspace in step with a change to who owns it
 * (products' syncListing), in the changing transaction. Passed in by app.ts.
 */
export type ListingSync = (trx: Trx, scope: { workspaceId: string }) => Promise<void>

export function slugify (name: string): string {
  const slug = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48).replace(/-+$/, '')
  return slug || 'workspace'
}

export function toWorkspaceView (row: WorkspaceRow, role?: WorkspaceRole): WorkspaceView {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    ownerId: row.ownerId,
    logoUrl: row.logoUrl,
    primaryColor: row.primaryColor,
    settings: (row.settings ?? {}) as Record<string, unknown>,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    createdBy: row.createdBy,
    updatedBy: row.updatedBy,
    ...(role ? { role } : {})
  }
}

/** The workspaces as a subquery other modules join (a store's name, its owner) in one statement. */
export function workspaceStores (db: Queryable) {
  return db.selectFrom('workspaces').select(['id', 'name', 'ownerId'])
}

const slugTaken = (slug: string) => Conflict('SLUG_TAKEN', `The slug "${slug}" is taken.`, { field: '/body/slug', fieldDetail: 'is taken' })

/** Creates a workspace with `ownerId` as its owner, in the caller's transaction. */
export async function createWorkspace (trx: Queryable, input: CreateWorkspaceBody & { ownerId: string }, random: Pick<Random, 'uuid'>): Promise<WorkspaceView> {
  const base = input.slug ?? slugify(input.name)
  // A requested slug must be free; a derived one gets a short suffix until it is.
  for (let attempt = 0; attempt < 8; attempt++) {
    const slug = attempt === 0 ? base : `${base.slice(0, 43)}-${random.uuid().slice(-4)}`
    const id = random.uuid()
    const row = await trx.insertInto('workspaces')
      .values({ id, name: input.name, slug, ownerId: input.ownerId, createdBy: input.ownerId, updatedBy: input.ownerId })
      .onConflict((oc) => oc.column('slug').where('deletedAt', 'is', null).doNothing())
      .returningAll()
      .executeTakeFirst()
    if (row) {
      await trx.insertInto('workspaceMembers').values({ workspaceId: id, userId: input.ownerId, role: 'owner' }).execute()
      return toWorkspaceView(row, 'owner')
    }
    if (input.slug !== undefined) break
  }
  throw slugTaken(base)
}

export async function createOwnWorkspace (deps: Deps, principal: Principal, input: CreateWorkspaceBody): Promise<WorkspaceView> {
  const view = await deps.db.transaction().execute((trx) => createWorkspace(trx, { ...input, ownerId: principal.userId }, deps.random))
  await bumpProfileVersion(deps, principal.userId)
  return view
}

export async function listMyWorkspaces (deps: Deps, userId: string): Promise<WorkspaceView[]> {
  const rows = await deps.db.selectFrom('workspaceMembers as m')
    .innerJoin('workspaces as w', 'w.id', 'm.workspaceId')
    .selectAll('w')
    .select('m.role')
    .where('m.userId', '=', userId)
    .where('w.deletedAt', 'is', null)
    .orderBy('w.createdAt')
    .execute()
  return rows.map((r) => toWorkspaceView(r, r.role as WorkspaceRole))
}

/**
 * The live workspace, or 404. A writer passes `lock`: its decision (the logo to remove, whether
 * the workspace still exists) then holds until it commits, and concurrent writers queue on the row.
 * 'share' is for adding to the workspace (an invitation): a deletion waits for it, and sees it.
 */
export async function liveWorkspace (db: Queryable, id: string, lock?: 'write' | 'share'): Promise<WorkspaceRow> {
  const q = db.selectFrom('workspaces').selectAll().where('id', '=', id).where('deletedAt', 'is', null)
  const row = await (lock === 'write' ? q.forNoKeyUpdate() : lock === 'share' ? q.forShare() : q).executeTakeFirst()
  if (!row) throw NotFound('NOT_FOUND', 'workspace not found')
  return row
}

/**
 * For work that adds to a workspace (a product): holds off its deletion until the caller's
 * transaction ends, and refuses a deleted one, so nothing is added that the deletion would miss.
 */
export async function lockLiveWorkspace (trx: Trx, id: string): Promise<void> {
  await liveWorkspace(trx, id, 'share')
}

export async function getWorkspace (deps: Deps, id: string, role: WorkspaceRole): Promise<WorkspaceView> {
  return toWorkspaceView(await liveWorkspace(deps.db, id), role)
}

export async function updateWorkspace (deps: Deps, actor: Principal, id: string, role: WorkspaceRole, patch: UpdateWorkspaceBody): Promise<WorkspaceView> {
  const row = await deps.db.transaction().execute(async (trx) => {
    const current = await liveWorkspace(trx, id, 'write')
    const logoChanges = patch.logoUrl !== undefined && patch.logoUrl !== current.logoUrl
    try {
      const updated = await trx.updateTable('workspaces')
        .set({
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.slug !== undefined ? { slug: patch.slug } : {}),
          ...(patch.primaryColor !== undefined ? { primaryColor: patch.primaryColor } : {}),
          ...(patch.settings !== undefined ? { settings: JSON.stringify(patch.settings) } : {}),
          ...(logoChanges ? { logoUrl: patch.logoUrl, logoKey: null } : {}),
          updatedAt: deps.clock.now(),
          updatedBy: actor.userId
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow()
      if (logoChanges) await removeFilesLater(trx, [current.logoKey])
      return updated
    } catch (err) {
      if (isUniqueViolation(err)) throw slugTaken(patch.slug ?? '')
      throw err
    }
  })
  if (patch.name !== undefined || patch.slug !== undefined) await bumpMembers(deps, await memberIds(deps.db, id))
  return toWorkspaceView(row, role)
}

export async function setWorkspaceLogo (deps: Deps, actor: Principal, id: string, upload: StoredUpload): Promise<LogoResponse> {
  const logoUrl = publicUrl(deps.config, `/files/${upload.key.replace(/^public\//, '')}`)
  await deps.db.transaction().execute(async (trx) => {
    const current = await liveWorkspace(trx, id, 'write')
    await trx.updateTable('workspaces').set({ logoUrl, logoKey: upload.key, updatedAt: deps.clock.now(), updatedBy: actor.userId }).where('id', '=', id).execute()
    await removeFilesLater(trx, [current.logoKey])
  })
  return { logoUrl }
}

/**
 * Soft delete (owner only): the workspace disappears for everyone; what other modules keep
 * under it is retired by `retireContent` in the same transaction, and its files are removed.
 */
export async function deleteWorkspace (deps: Deps, actor: Principal, id: string, retireContent: readonly ContentRetirer[]): Promise<void> {
  const members = await memberIds(deps.db, id)
  await deps.db.transaction().execute(async (trx) => {
    const current = await liveWorkspace(trx, id, 'write')
    const now = deps.clock.now()
    await trx.updateTable('workspaces').set({ deletedAt: now, updatedAt: now, updatedBy: actor.userId }).where('id', '=', id).execute()
    await trx.updateTable('workspaceInvitations').set({ revokedAt: now })
      .where('workspaceId', '=', id).where('acceptedAt', 'is', null).where('revokedAt', 'is', null).execute()
    const files: string[] = []
    // In turn, not at once: one transaction runs one statement at a time.
    for (const retire of retireContent) files.push(...await retire(trx, id, now))
    await removeFilesLater(trx, [current.logoKey, ...files])
  })
  await bumpMembers(deps, members)
}
