import { sql, type Selectable } from 'kysely'
import type { Queryable } from '../../platform/db.ts'
import type { Users } from '../../platform/db-types.ts'
import { newId } from '../../platform/clock.ts'
import { requireRecentAuthentication, type Principal, type UserType } from '../../platform/principal.ts'
import type { Deps } from '../../platform/deps.ts'
import { sameDigest } from '../../platform/crypto.ts'
import { AppError, Conflict, InvalidField, NotFound } from '../../platform/errors.ts'
import { consume, hit, reset, type Limit } from '../../platform/limiter.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import { enqueueEmail } from '../../emails.ts'
import { hashPassword } from '../auth/passwords.ts'
import { bumpProfileVersion, endUserSessions, updateSessionsUserType } from '../sessions/service.ts'

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

export interface ProfilePatch { name?: string, phone?: string | null, postCode?: string | null, country?: string | null, city?: string | null }

function profileColumns (patch: ProfilePatch) {
  return {
    ...(patch.name !== undefined ? { name: patch.name } : {}),
    ...(patch.phone !== undefined ? { phone: patch.phone } : {}),
    ...(patch.postCode !== undefined ? { postCode: patch.postCode } : {}),
    ...(patch.country !== undefined ? { country: patch.country } : {}),
    ...(patch.city !== undefined ? { city: patch.city } : {})
  }
}

export async function updateProfile (deps: Deps, actorId: string, userId: string, patch: ProfilePatch & { type?: UserType }): Promise<UserView> {
  const row = await deps.db.updateTable('users')
    .set({ ...profileColumns(patch), ...(patch.type !== undefined ? { type: patch.type } : {}), updatedAt: deps.clock.now(), updatedBy: actorId })
    .where('id', '=', userId).where('deletedAt', 'is', null)
    .returningAll().executeTakeFirst()
  if (!row) throw NotFound('user')
  if (patch.type !== undefined) await updateSessionsUserType(deps, userId, patch.type)
  await bumpProfileVersion(deps, userId)
  return toUserView(row)
}

// ---- Email change: the new address proves itself with a code (SPEC 7.2) ----

/** `a***@example.com`: enough for the owner to recognise, not a full address to whoever reads the mail. */
export function maskEmail (email: string): string {
  const at = email.lastIndexOf('@')
  return at <= 0 ? '***' : `${email[0]}***${email.slice(at)}`
}

const EMAIL_CHANGE_TTL_MS = 15 * 60_000
const EMAIL_CHANGE_ATTEMPTS = 5
const EMAIL_CHANGES_PER_HOUR: Limit = { name: 'email-change', max: 5, windowMs: 3600_000 }
const emailChangeKey = (userId: string) => `email-change:${userId}`
/** Tries on the pending change's code, counted before each is judged; cleared with a new code. */
const EMAIL_CHANGE_TRIES: Limit = { name: 'email-change-tries', max: EMAIL_CHANGE_ATTEMPTS, windowMs: EMAIL_CHANGE_TTL_MS }
interface PendingEmailChange { email: string, codeHash: string | null, expiresAt: number }

/**
 * Starts an email change (recent sign-in required). The new address receives a code; an
 * address that already has an account is told so instead, and the answer to the caller is the
 * same either way.
 */
export async function startEmailChange (deps: Deps, principal: Principal, newEmail: string): Promise<{ pendingEmail: string, expiresAt: Date }> {
  requireRecentAuthentication(principal, deps.clock.now())
  // Each start mails a code to an address of the caller's choosing: counted, then judged.
  await consume(deps.redis, EMAIL_CHANGES_PER_HOUR, principal.userId)
  const email = normalizeEmail(newEmail)
  const user = await findUserById(deps.db, principal.userId)
  if (!user) throw NotFound('user')
  if (email === user.email) throw InvalidField('/body/email', 'is already your email')
  const taken = await findUserByEmail(deps.db, email)
  const expiresAt = deps.clock.now().getTime() + EMAIL_CHANGE_TTL_MS
  let codeHash: string | null = null
  if (taken) {
    await enqueueEmail(deps, 'signup-account-exists', email, { name: taken.name, signInLink: `${deps.config.publicUrl}/sign-in`, resetLink: `${deps.config.publicUrl}/forgot-password` })
  } else {
    const code = deps.random.digits(6)
    codeHash = deps.sealer.secretHash(`email-change:${user.id}:${email}:${code}`)
    await enqueueEmail(deps, 'email-change-code', email, { name: user.name, code, minutes: EMAIL_CHANGE_TTL_MS / 60_000 })
  }
  const pending: PendingEmailChange = { email, codeHash, expiresAt }
  await reset(deps.redis, EMAIL_CHANGE_TRIES, user.id)
  await deps.redis.set(emailChangeKey(user.id), deps.sealer.seal(pending, emailChangeKey(user.id)), 'PX', EMAIL_CHANGE_TTL_MS)
  return { pendingEmail: email, expiresAt: new Date(expiresAt) }
}

export async function confirmEmailChange (deps: Deps, principal: Principal, code: string): Promise<UserView> {
  const { count: tries } = await hit(deps.redis, EMAIL_CHANGE_TRIES, principal.userId)
  const sealed = await deps.redis.get(emailChangeKey(principal.userId))
  const invalid = () => new AppError(400, 'INVALID_CODE', 'The code is wrong or has expired.', { errors: [{ pointer: '/body/code', detail: 'is wrong or has expired' }] })
  if (!sealed) throw invalid()
  const pending = deps.sealer.open<PendingEmailChange>(sealed, emailChangeKey(principal.userId))
  if (tries > EMAIL_CHANGE_ATTEMPTS || pending.expiresAt <= deps.clock.now().getTime() || !pending.codeHash) throw invalid()
  if (!sameDigest(deps.sealer.secretHash(`email-change:${principal.userId}:${pending.email}:${code}`), pending.codeHash)) throw invalid()
  const before = await findUserById(deps.db, principal.userId)
  if (!before) throw NotFound('user')
  const now = deps.clock.now()
  let row
  try {
    row = await deps.db.updateTable('users')
      .set({ email: pending.email, isProfileReverified: true, profileReverifiedAt: now, updatedAt: now, updatedBy: principal.userId })
      .where('id', '=', principal.userId).where('deletedAt', 'is', null)
      .returningAll().executeTakeFirst()
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw Conflict('EMAIL_TAKEN', 'That email now belongs to another account.')
    throw err
  }
  if (!row) throw NotFound('user')
  await deps.redis.del(emailChangeKey(principal.userId))
  await reset(deps.redis, EMAIL_CHANGE_TRIES, principal.userId)
  await bumpProfileVersion(deps, principal.userId)
  // The old address hears of it: if the change was not its owner's doing, they learn at once.
  await enqueueEmail(deps, 'email-changed', before.email, {
    name: row.name,
    newEmail: maskEmail(row.email),
    time: now.toISOString(),
    resetLink: `${deps.config.publicUrl}/forgot-password`
  })
  return toUserView(row)
}

// ---- Addresses ----

export interface AddressInput { street: string, city: string, state?: string | null, zipCode: string, country: string, isDefault?: boolean }
export interface AddressView { id: string, street: string, city: string, state: string | null, zipCode: string, country: string, isDefault: boolean, createdAt: Date, updatedAt: Date }

const addressColumns = ['id', 'street', 'city', 'state', 'zipCode', 'country', 'isDefault', 'createdAt', 'updatedAt'] as const

export async function listAddresses (db: Queryable, userId: string): Promise<AddressView[]> {
  return db.selectFrom('addresses').select(addressColumns).where('userId', '=', userId).orderBy('isDefault', 'desc').orderBy('createdAt').execute()
}

export async function findAddress (db: Queryable, userId: string, id: string): Promise<AddressView | undefined> {
  return db.selectFrom('addresses').select(addressColumns).where('userId', '=', userId).where('id', '=', id).executeTakeFirst()
}

/** The first address is the default; a new default takes the mark from the old one. */
export async function addAddress (deps: Deps, userId: string, input: AddressInput): Promise<AddressView> {
  return deps.db.transaction().execute(async (trx) => {
    const count = await trx.selectFrom('addresses').select((eb) => eb.fn.countAll<number>().as('n')).where('userId', '=', userId).executeTakeFirstOrThrow()
    const isDefault = input.isDefault === true || Number(count.n) === 0
    if (isDefault) await trx.updateTable('addresses').set({ isDefault: false }).where('userId', '=', userId).where('isDefault', '=', true).execute()
    return trx.insertInto('addresses').values({
      id: deps.random.uuid(), userId, street: input.street, city: input.city, state: input.state ?? null, zipCode: input.zipCode, country: input.country, isDefault
    }).returning(addressColumns).executeTakeFirstOrThrow()
  })
}

export async function updateAddress (deps: Deps, userId: string, id: string, patch: Partial<AddressInput>): Promise<AddressView> {
  return deps.db.transaction().execute(async (trx) => {
    if (!await findAddress(trx, userId, id)) throw NotFound('address')
    if (patch.isDefault === true) await trx.updateTable('addresses').set({ isDefault: false }).where('userId', '=', userId).where('id', '<>', id).where('isDefault', '=', true).execute()
    return trx.updateTable('addresses').set({
      ...(patch.street !== undefined ? { street: patch.street } : {}),
      ...(patch.city !== undefined ? { city: patch.city } : {}),
      ...(patch.state !== undefined ? { state: patch.state } : {}),
      ...(patch.zipCode !== undefined ? { zipCode: patch.zipCode } : {}),
      ...(patch.country !== undefined ? { country: patch.country } : {}),
      ...(patch.isDefault !== undefined ? { isDefault: patch.isDefault } : {}),
      updatedAt: deps.clock.now()
    }).where('id', '=', id).where('userId', '=', userId).returning(addressColumns).executeTakeFirstOrThrow()
  })
}

export async function deleteAddress (deps: Deps, userId: string, id: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const removed = await trx.deleteFrom('addresses').where('id', '=', id).where('userId', '=', userId).returning('isDefault').executeTakeFirst()
    if (!removed) throw NotFound('address')
    // Someone with addresses always has a default: the oldest remaining takes the mark.
    if (removed.isDefault) {
      const next = await trx.selectFrom('addresses').select('id').where('userId', '=', userId).orderBy('createdAt').limit(1).executeTakeFirst()
      if (next) await trx.updateTable('addresses').set({ isDefault: true }).where('id', '=', next.id).execute()
    }
  })
}

// ---- Platform admins ----

export interface UserSearch { q?: string, type?: UserType, status?: UserStatus, limit: number, cursor?: string }

/** Substring search over name and email (trigram indexes), newest first, keyset-paginated. */
export async function searchUsers (deps: Deps, query: UserSearch): Promise<PageOf<UserView>> {
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
    })
    return toUserView(row)
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new AppError(409, 'EMAIL_TAKEN', 'An account with this email exists.', { errors: [{ pointer: '/body/email', detail: 'is taken' }] })
    throw err
  }
}

/** Soft delete: the account stops signing in at once and its email is free again. */
export async function softDeleteUser (deps: Deps, actorId: string, userId: string): Promise<void> {
  const now = deps.clock.now()
  const row = await deps.db.updateTable('users').set({ deletedAt: now, status: 'inactive', updatedAt: now, updatedBy: actorId })
    .where('id', '=', userId).where('deletedAt', 'is', null).returning('id').executeTakeFirst()
  if (!row) throw NotFound('user')
  await endUserSessions(deps, userId, 'revoked')
  await bumpProfileVersion(deps, userId)
}
