import type { Selectable } from 'kysely'
import type { Queryable } from '../../platform/db.ts'
import type { Users } from '../../platform/db-types.ts'
import type { Deps } from '../../platform/deps.ts'
import type { Random } from '../../platform/clock.ts'
import { bumpProfileVersion } from '../../platform/profile-version.ts'
import type { UserType } from '../../platform/principal.ts'
import type { UserStatus, UserView } from './schemas.ts'

// Users: the records behind identities. Other domains reach users through these functions.

export type UserRow = Selectable<Users>

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
  /** Set when the phone proved itself with a code (release it from any other account first: phone.ts). */
  phoneVerifiedAt?: Date | null
  verifiedAt?: Date | null
  createdBy?: string | null
}

/** The id comes from the caller's `deps.random` (time-ordered, so newest-first lists hold). */
export async function insertUser (db: Queryable, user: NewUser, random: Pick<Random, 'uuid'>): Promise<UserRow> {
  const id = random.uuid()
  return db.insertInto('users').values({
    id,
    email: normalizeEmail(user.email),
    name: user.name,
    type: user.type,
    status: user.status,
    passwordHash: user.passwordHash ?? null,
    phone: user.phone ?? null,
    phoneVerifiedAt: user.phoneVerifiedAt ?? null,
    verifiedAt: user.verifiedAt ?? null,
    // A self-made account is its own creator.
    createdBy: user.createdBy ?? id,
    updatedBy: user.createdBy ?? id
  }).returningAll().executeTakeFirstOrThrow()
}

/**
 * `byEmailedLink`: a reset, which proves the email (verified from now on, if it was not) and
 * unverifies the phone, so a phone someone else proved on this account (an SMS sign-up with
 * this address) stops signing in; the owner proves theirs again in one step.
 */
export async function setPasswordHash (deps: Pick<Deps, 'db' | 'redis' | 'clock'>, userId: string, passwordHash: string, byEmailedLink = false): Promise<void> {
  const now = deps.clock.now()
  await deps.db.updateTable('users')
    .set((eb) => ({
      passwordHash,
      updatedAt: now,
      updatedBy: userId,
      ...(byEmailedLink ? { phoneVerifiedAt: null, verifiedAt: eb.fn.coalesce('verifiedAt', eb.val(now)) } : {})
    }))
    .where('id', '=', userId).execute()
  await bumpProfileVersion(deps, userId)
}

/** An emailed code signed in: the email is verified from now on, if it was not. The row as it is now. */
export async function markEmailVerified (deps: Pick<Deps, 'db' | 'redis' | 'clock'>, userId: string): Promise<UserRow | undefined> {
  const row = await deps.db.updateTable('users').set({ verifiedAt: deps.clock.now() })
    .where('id', '=', userId).where('verifiedAt', 'is', null).returningAll().executeTakeFirst()
  if (row) await bumpProfileVersion(deps, userId)
  return row
}

/** The public shape of a user: never the password hash. */
export function toUserView (row: UserRow): UserView {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    phone: row.phone,
    phoneVerifiedAt: row.phoneVerifiedAt,
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
