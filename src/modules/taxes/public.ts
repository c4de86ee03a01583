import { sql, type Expression } from 'kysely'
import type { Queryable } from '../../platform/db.ts'

// What other modules may use of `taxes` (issue 14). A stub until its work package lands: no
// country has a rate, so nothing is taxed. The signature is the contract.

/**
 * The tax rates of a country (every region), as a subquery the caller folds into its statement.
 * The country (upper case) is an expression: checkout reads it from a saved address in the same statement.
 */
export function taxRateFacts (db: Queryable, country: Expression<string | null>) {
  return db.selectNoFrom([
    sql<string>`null::uuid`.as('id'),
    sql<string>`null::text`.as('country'),
    sql<string | null>`null::text`.as('region'),
    sql<number>`null::int`.as('rateBps'),
    sql<boolean>`null::boolean`.as('inclusive'),
    sql<string>`null::text`.as('name')
  ]).where(sql<boolean>`false`)
}
