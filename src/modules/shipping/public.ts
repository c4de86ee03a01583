import { sql, type Expression } from 'kysely'
import type { Queryable } from '../../platform/db.ts'

// What other modules may use of `shipping` (issue 14): the rates pricing needs, as subqueries
// the caller folds into a statement it runs anyway (checkout's facts, the cart's read).

// The cast keeps `any` on an array: a caller's scalar subquery would otherwise read as a set of rows.
const inWorkspaces = (workspaceIds: Expression<readonly string[]>) => sql<boolean>`${sql.ref('shippingRates.workspaceId')} = any(${workspaceIds}::uuid[])`

/**
 * The rates of these workspaces that are not deleted, active or not (`isActive`), as a subquery
 * the caller folds into its statement: the active ones are the ones to ship by, and a workspace
 * with none at all ships free. The workspaces are an SQL array (`uuid[]`): the cart derives them
 * from its lines in the same statement.
 */
export function shippingRateFacts (db: Queryable, workspaceIds: Expression<readonly string[]>) {
  return db.selectFrom('shippingRates')
    .select(['id', 'workspaceId', 'name', 'currency', sql<'flat' | 'free_over'>`kind`.as('kind'), 'amount', 'freeOverAmount', 'countries', 'isActive'])
    .where(inWorkspaces(workspaceIds))
    .where('deletedAt', 'is', null)
    .orderBy('id')
}
