import { sql, type Expression } from 'kysely'
import type { Queryable } from '../../platform/db.ts'

// What other modules may use of `taxes` (issue 14): the rates pricing needs, as a subquery the
// caller folds into a statement it runs anyway.

/**
 * The tax rates of a country (every region), as a subquery the caller folds into its statement.
 * The country (upper case) is an expression: checkout reads it from a saved address in the same statement.
 */
export function taxRateFacts (db: Queryable, country: Expression<string | null>) {
  return db.selectFrom('taxRates')
    .select(['id', 'country', 'region', 'rateBps', 'inclusive', 'name'])
    .where(sql<boolean>`${sql.ref('country')} = ${country}`)
    .where('deletedAt', 'is', null)
    .orderBy('id')
}
