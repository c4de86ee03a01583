import type { Expression } from 'kysely'
import { jsonArrayFrom, jsonObjectFrom } from 'kysely/helpers/postgres'
import type { Config } from '../../config.ts'
import type { Queryable } from '../../platform/db.ts'
import { commissionFacts, defaultCommissionBps } from '../payouts/public.ts'
import { appliedPromotionFacts } from '../promotions/public.ts'
import { shippingRateFacts, workspacesWithRates } from '../shipping/public.ts'
import { taxRateFacts } from '../taxes/public.ts'
import type { Destination, PricingContext } from './totals.ts'

// What pricing needs to know (plan §2.3), as JSON columns a caller adds to a statement it runs
// anyway: checkout to its facts statement (so pricing costs it no statement), the cart to one
// read. Each owning module writes its own subquery; this only gathers them.

export interface PricingFacts {
  /** The customer whose applied code counts. */
  userId: string
  /** The workspaces the lines are sold by. */
  workspaceIds: readonly string[]
  /** The destination's country, upper case (an expression: it may come from a saved address); null when unknown. */
  country: Expression<string | null>
}

export function pricingContextColumns (db: Queryable, facts: PricingFacts) {
  return [
    jsonObjectFrom(appliedPromotionFacts(db, facts.userId)).as('promotion'),
    jsonArrayFrom(shippingRateFacts(db, facts.workspaceIds)).as('shippingRates'),
    jsonArrayFrom(workspacesWithRates(db, facts.workspaceIds)).as('workspacesWithRates'),
    jsonArrayFrom(taxRateFacts(db, facts.country)).as('taxRates'),
    jsonArrayFrom(commissionFacts(db, facts.workspaceIds)).as('commissions')
  ] as const
}

type Row<C> = C extends { expression: Expression<infer T> } ? T : never
type Columns = ReturnType<typeof pricingContextColumns>
/** What the columns of pricingContextColumns hold, by name. */
export interface PricingContextRow {
  promotion: Row<Columns[0]>
  shippingRates: Row<Columns[1]>
  workspacesWithRates: Row<Columns[2]>
  taxRates: Row<Columns[3]>
  commissions: Row<Columns[4]>
}

/** The context from those columns; a workspace without an override pays the platform's default commission. */
export function toPricingContext (row: PricingContextRow, workspaceIds: readonly string[], config: Config): PricingContext {
  const overrides = new Map(row.commissions.map((c) => [c.workspaceId, c.commissionBps]))
  const fallback = defaultCommissionBps(config)
  return {
    promotion: row.promotion,
    shippingRates: row.shippingRates,
    workspacesWithRates: new Set(row.workspacesWithRates.map((w) => w.workspaceId)),
    taxRates: row.taxRates,
    commissionBps: new Map(workspaceIds.map((id) => [id, overrides.get(id) ?? fallback]))
  }
}

/** Where an address is, as pricing compares it: country and region (the state) upper case and trimmed. */
export function destinationOf (address: { country: string, state?: string | null }): Destination {
  const region = address.state?.trim().toUpperCase()
  return { country: address.country.trim().toUpperCase(), region: region || null }
}
