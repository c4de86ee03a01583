import { sql, type Expression } from 'kysely'
import { jsonArrayFrom, jsonObjectFrom } from 'kysely/helpers/postgres'
import type { Config } from '../../config.ts'
import type { Queryable } from '../../platform/db.ts'
import { commissionFacts, defaultCommissionBps } from '../payouts/public.ts'
import { appliedPromotionFacts } from '../promotions/public.ts'
import { shippingRateFacts } from '../shipping/public.ts'
import { taxRateFacts } from '../taxes/public.ts'
import { addressFacts } from '../users/public.ts'
import type { Destination, PricingContext } from './totals.ts'

// What pricing needs to know (plan §2.3), as JSON columns a caller adds to a statement it runs
// anyway: checkout to its facts statement, the cart to the statement that reads (or adds to)
// its lines, so pricing costs neither a statement. Each owning module writes its own
// subquery; this only gathers them.

/** Where the lines go: a place given outright, the customer's saved address (by id; without one the default), or unknown. */
export type DestinationFacts = Destination | { addressId?: string } | null

export interface PricingFacts {
  /**
   * The customer: their applied code, their saved addresses. In the cart's add it stands for a
   * value of a statement compiled once: builders use it only as a value, never branch on it.
   */
  userId: string
  /**
   * The workspaces the lines are sold by, as an SQL `uuid[]`: checkout passes its own as a
   * parameter, the cart derives them from its lines in the same statement.
   */
  workspaceIds: Expression<readonly string[]>
  destination: DestinationFacts
  /**
   * Whether to read the workspaces' commission overrides: checkout freezes the commission on
   * each order and reads them; the cart shows no commission and leaves them out (its priced
   * commission is then the platform default, and is not shown).
   */
  commissions?: boolean
  /**
   * Where the statement answers many rows (the cart: one per line), the rows that carry the
   * context (the first); the others answer null, so the client parses it once, not per line.
   */
  onRow?: Expression<boolean>
}

const isSaved = (d: DestinationFacts): d is { addressId?: string } => d !== null && !('country' in d)

export function pricingContextColumns (db: Queryable, facts: PricingFacts) {
  const { destination } = facts
  const saved = isSaved(destination) ? addressFacts(db, facts.userId, destination.addressId) : null
  // Tax rates are the destination country's: for a saved address, read from it in the same statement.
  const country = saved
    ? sql<string | null>`(${db.selectFrom(saved.as('a')).select(sql<string>`upper(trim(a.country))`.as('country'))})`
    : sql<string | null>`${isSaved(destination) ? null : destination?.country ?? null}::text`
  const { onRow } = facts
  const only = <T>(column: Expression<T>) => onRow ? sql<T>`case when ${onRow} then ${column} end` : sql<T>`${column}`
  return [
    only(jsonObjectFrom(appliedPromotionFacts(db, facts.userId))).as('promotion'),
    only(jsonArrayFrom(shippingRateFacts(db, facts.workspaceIds))).as('shippingRates'),
    only(jsonArrayFrom(taxRateFacts(db, country))).as('taxRates'),
    only(facts.commissions === false ? sql<Array<{ workspaceId: string, commissionBps: number }>>`'[]'::json` : jsonArrayFrom(commissionFacts(db, facts.workspaceIds))).as('commissions'),
    only(saved ? jsonObjectFrom(saved) : sql<null>`null::json`).as('savedAddress')
  ] as const
}

type Row<C> = C extends { expression: Expression<infer T> } ? T : never
type Columns = ReturnType<typeof pricingContextColumns>
/** What the columns of pricingContextColumns hold, by name. */
export interface PricingContextRow {
  promotion: Row<Columns[0]>
  /** Every rate not deleted, active or not. */
  shippingRates: Row<Columns[1]>
  taxRates: Row<Columns[2]>
  commissions: Row<Columns[3]>
  /** The saved address asked for (null: none asked for, or not the customer's). */
  savedAddress: Row<Columns[4]>
}

/** The context from those columns; a workspace without an override pays the platform's default commission. */
export function toPricingContext (row: PricingContextRow, workspaceIds: readonly string[], config: Config): PricingContext {
  const overrides = new Map(row.commissions.map((c) => [c.workspaceId, c.commissionBps]))
  const fallback = defaultCommissionBps(config)
  return {
    promotion: row.promotion,
    shippingRates: row.shippingRates.filter((r) => r.isActive),
    workspacesWithRates: new Set(row.shippingRates.map((r) => r.workspaceId)),
    taxRates: row.taxRates,
    commissionBps: new Map(workspaceIds.map((id) => [id, overrides.get(id) ?? fallback]))
  }
}

/** The destination priced for: the one given, the saved address read, or none. */
export function destinationFrom (facts: DestinationFacts, row: Pick<PricingContextRow, 'savedAddress'>): Destination | null {
  if (!isSaved(facts)) return facts
  return row.savedAddress ? destinationOf(row.savedAddress) : null
}

/** Where an address is, as pricing compares it: country and region (the state) upper case and trimmed. */
export function destinationOf (address: { country: string, state?: string | null }): Destination {
  const region = address.state?.trim().toUpperCase()
  return { country: address.country.trim().toUpperCase(), region: region || null }
}
