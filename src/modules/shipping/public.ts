import { sql, type Expression } from 'kysely'
import type { Queryable } from '../../platform/db.ts'

// What other modules may use of `shipping` (issue 14). A stub until its work package lands: no
// workspace has rates, so every order ships free. The signatures are the contract.

/**
 * The active rates of these workspaces, as a subquery the caller folds into its statement. The
 * workspaces are an SQL array (`uuid[]`): the cart derives them from its lines in the same statement.
 */
export function shippingRateFacts (db: Queryable, workspaceIds: Expression<readonly string[]>) {
  return db.selectNoFrom([
    sql<string>`null::uuid`.as('id'),
    sql<string>`null::uuid`.as('workspaceId'),
    sql<string>`null::text`.as('name'),
    sql<string>`null::text`.as('currency'),
    sql<'flat' | 'free_over'>`null::text`.as('kind'),
    sql<number>`null::int`.as('amount'),
    sql<number | null>`null::int`.as('freeOverAmount'),
    sql<string[]>`null::text[]`.as('countries')
  ]).where(sql<boolean>`false`)
}

/** The workspaces among these that defined any rate at all (the others ship free), as a subquery of `workspaceId`. */
export function workspacesWithRates (db: Queryable, workspaceIds: Expression<readonly string[]>) {
  return db.selectNoFrom([sql<string>`null::uuid`.as('workspaceId')]).where(sql<boolean>`false`)
}
