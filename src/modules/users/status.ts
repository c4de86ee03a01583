import { sql, type RawBuilder, type SqlBool } from 'kysely'
import type { Trx } from '../../platform/db.ts'

/**
 * "This user can act": active and not deleted. A reusable expression for other modules' rules
 * (on sale, vendor listings), so they ask `users` instead of reading its table.
 * `userId` is a column reference in the surrounding query, e.g. 'w.owner_id'.
 */
export function isActiveUser (userId: string): RawBuilder<SqlBool> {
  return sql<SqlBool>`exists (select 1 from users active_u
    where active_u.id = ${sql.ref(userId)} and active_u.status = 'active' and active_u.deleted_at is null)`
}

/**
 * Holds the user's row (FOR SHARE) until the caller's transaction ends: a status change or
 * deletion waits for it, and the caller reads the status as it stands. For a rule that reads
 * `isActiveUser` when a user newly becomes relevant to it (a workspace handed to them).
 */
export async function holdUser (trx: Trx, userId: string): Promise<void> {
  await trx.selectFrom('users').select('id').where('id', '=', userId).forShare().execute()
}
