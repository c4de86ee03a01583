import type { Selectable } from 'kysely'
import type { Queryable } from '../../platform/db.ts'
import type { Users } from '../../platform/db-types.ts'
import { newId } from '../../platform/clock.ts'
import type { UserType } from '../../platform/principal.ts'
import type { Deps } from '../../platform/deps.ts'
import { bumpProfileVersion, endUserSessions } from '../sessions/service.ts'

// Users: the records behind identities. Other domains reach users through these functions.

export type UserRow = Selectable<Users>
export type UserStatus = 'pending' | 'active' | 'inactive' | 'suspended'

/** Emails are compared and stored trimmed, NFC-normalised and lower-cased. */
export function normalizeEmail (email: string): string {
  return email.normalize('NFC').trim().toLowerCase()
}

export async function findUserByEmail (db: Queryable, email: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll()
    .where('email', '=', normalizeEmail(email))
    .where('deletedAt', 'is', null)
    .executeTakeFirst()
}

export async function findUserById (db: Queryable, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).where('deletedAt', 'is', null).executeTakeFirst()
}

export interface NewUser {
  email: string
  name: string
  type: UserType
  status: UserStatus
  passwordHash?: string | null
  phone?: string | null
  verifiedAt?: Date | null
  createdBy?: string | null
}

export async function insertUser (db: Queryable, user: NewUser): Promise<UserRow> {
  const id = newId()
  return db.insertInto('users').values({
    id,
    email: normalizeEmail(user.email),
    name: user.name,
    type: user.type,
    status: user.status,
    passwordHash: user.passwordHash ?? null,
    phone: user.phone ?? null,
    verifiedAt: user.verifiedAt ?? null,
    createdBy: user.createdBy ?? id,
    updatedBy: user.createdBy ?? id
  }).returningAll().executeTakeFirstOrThrow()
}

export async function setPasswordHash (deps: Pick<Deps, 'db' | 'redis'>, userId: string, passwordHash: string): Promise<void> {
  await deps.db.updateTable('users').set({ passwordHash, updatedAt: new Date(), updatedBy: userId }).where('id', '=', userId).execute()
  await bumpProfileVersion(deps, userId)
}

export interface UserView {
  id: string
  email: string
  name: string
  phone: string | null
  type: UserType
  status: UserStatus
  hasPassword: boolean
  verifiedAt: Date | null
  postCode: string | null
  country: string | null
  city: string | null
  isProfileReverified: boolean
  profileReverifiedAt: Date | null
  createdAt: Date
  updatedAt: Date
  createdBy: string | null
  updatedBy: string | null
}

/** The public shape of a user: never the password hash. */
export function toUserView (row: UserRow): UserView {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    phone: row.phone,
    type: row.type as UserType,
    status: row.status as UserStatus,
    hasPassword: row.passwordHash !== null,
    verifiedAt: row.verifiedAt,
    postCode: row.postCode,
    country: row.country,
    city: row.city,
    isProfileReverified: row.isProfileReverified,
    profileReverifiedAt: row.profileReverifiedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    createdBy: row.createdBy,
    updatedBy: row.updatedBy
  }
}

/**
 * Changes a user's status. Suspending (or deactivating) ends every session of the user at
 * once, so their live access tokens fail on the next request.
 */
export async function setUserStatus (deps: Deps, actorId: string | null, userId: string, status: UserStatus): Promise<UserRow | undefined> {
  const row = await deps.db.updateTable('users')
    .set({ status, updatedAt: deps.clock.now(), updatedBy: actorId })
    .where('id', '=', userId).where('deletedAt', 'is', null)
    .returningAll().executeTakeFirst()
  if (row) await bumpProfileVersion(deps, userId)
  if (row && status !== 'active') await endUserSessions(deps, userId, 'suspended')
  return row
}
