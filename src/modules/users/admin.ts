import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { Trx } from '../../platform/db.ts'
import { Conflict, NotFound, isUniqueViolation } from '../../platform/errors.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import { hashPassword } from '../../platform/passwords.ts'
import { bumpProfileVersion } from '../../platform/profile-version.ts'
import { endUserSessions } from '../sessions/public.ts'
import { insertUser, toUserView, type NewUser, type UserRow } from './accounts.ts'
import type { UserSearchQuery, UserStatus, UserView } from './schemas.ts'

// What platform admins do to accounts: search, create, suspend, delete.

/**
 * Brings what the public catalog lists of a user's workspaces in step with a change to the user's
 * status (products' syncListing), in the changing transaction. Passed in by app.ts and scripts.
 */
export type ListingSync = (trx: Trx, scope: { ownerId: string }) => Promise<void>

/** Substring search over name and email (trigram indexes), newest first, keyset-paginated. */
export async function searchUsers (deps: Deps, query: UserSearchQuery): Promise<PageOf<UserView>> {
  const after = decodeCursor(query.cursor, ['uuid'])
  let q = deps.db.selectFrom('users').selectAll().where('deletedAt', 'is', null)
  if (query.q) {
    const pattern = `%${query.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
    q = q.where((eb) => eb.or([eb(sql`lower(name)`, 'like', pattern), eb('email', 'like', pattern)]))
  }
  if (query.type) q = q.where('type', '=', query.type)
  if (query.status) q = q.where('status', '=', query.status)
  if (after) q = q.where('id', '<', after[0])
  const rows = await q.orderBy('id', 'desc').limit(query.limit + 1).execute()
  return toPage(rows, query.limit, toUserView, (r) => [r.id])
}

export async function adminCreateUser (deps: Deps, actorId: string, input: NewUser & { password?: string }): Promise<UserView> {
  try {
    const row = await insertUser(deps.db, {
      ...input,
      passwordHash: input.password ? await hashPassword(input.password) : null,
      verifiedAt: deps.clock.now(),
      createdBy: actorId
    }, deps.random)
    return toUserView(row)
  } catch (err) {
    if (isUniqueViolation(err)) throw Conflict('EMAIL_TAKEN', 'An account with this email exists.', { field: '/body/email', fieldDetail: 'is taken' })
    throw err
  }
}

/**
 * Changes a user's status. Suspending (or deactivating) ends every session of the user at
 * once, so their live access tokens fail on the next request; a vendor's products leave (or
 * rejoin) the catalog in the same transaction.
 */
export async function setUserStatus (deps: Deps, actorId: string | null, userId: string, status: UserStatus, syncListing: ListingSync): Promise<UserRow | undefined> {
  const row = await deps.db.transaction().execute(async (trx) => {
    const updated = await trx.updateTable('users')
      .set({ status, updatedAt: deps.clock.now(), updatedBy: actorId })
      .where('id', '=', userId).where('deletedAt', 'is', null)
      .returningAll().executeTakeFirst()
    if (updated) await syncListing(trx, { ownerId: userId })
    return updated
  })
  if (row) await bumpProfileVersion(deps, userId)
  if (row && status !== 'active') await endUserSessions(deps, userId, 'suspended')
  return row
}

/** Soft delete: the account stops signing in at once and its email is free again; a vendor's products leave the catalog. */
export async function softDeleteUser (deps: Deps, actorId: string, userId: string, syncListing: ListingSync): Promise<void> {
  const now = deps.clock.now()
  await deps.db.transaction().execute(async (trx) => {
    const row = await trx.updateTable('users').set({ deletedAt: now, status: 'inactive', updatedAt: now, updatedBy: actorId })
      .where('id', '=', userId).where('deletedAt', 'is', null).returning('id').executeTakeFirst()
    if (!row) throw NotFound('NOT_FOUND', 'user not found')
    await syncListing(trx, { ownerId: userId })
  })
  await endUserSessions(deps, userId, 'revoked')
  await bumpProfileVersion(deps, userId)
}
