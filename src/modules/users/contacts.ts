import type { Queryable } from '../../platform/db.ts'

// How other modules reach a person: id, email and name, never the users row itself.

export interface Contact { id: string, email: string, name: string }

/** A select over users' contacts, for other modules to join as a subquery within one statement. */
export function userContacts (db: Queryable) {
  return db.selectFrom('users').select(['id', 'email', 'name'])
}

/** A user's contact, deleted users included (their orders and reviews still name them). */
export async function contactOf (db: Queryable, userId: string): Promise<Contact | undefined> {
  return userContacts(db).where('id', '=', userId).executeTakeFirst()
}

export async function contactsOf (db: Queryable, userIds: string[]): Promise<Map<string, Contact>> {
  if (userIds.length === 0) return new Map()
  const rows = await userContacts(db).where('id', 'in', [...new Set(userIds)]).execute()
  return new Map(rows.map((row) => [row.id, row]))
}

/** Active platform admins, oldest first; capped so one notice never fans out unbounded. */
export async function activeAdminContacts (db: Queryable): Promise<Contact[]> {
  return userContacts(db)
    .where('type', '=', 'admin').where('status', '=', 'active').where('deletedAt', 'is', null)
    .orderBy('createdAt').limit(100).execute()
}
