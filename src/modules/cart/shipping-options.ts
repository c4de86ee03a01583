import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import { BadRequest, NotFound } from '../../platform/errors.ts'
import { money } from '../../platform/money.ts'
import { computeTotals, destinationFrom, pricingContextColumns, shippingOptions, toPricingContext } from '../pricing/public.ts'
import type { CartQuery, ShippingOptionsView } from './schemas.ts'
import { cartLines } from './service.ts'
import { destinationAsked, pricingLinesOf } from './summary.ts'

// GET /cart/shipping-options (issue 14): per store order of the cart (per currency), the rates
// it could ship by to a destination, priced as checkout would price them (free over a threshold
// measured after the order's discount), the cheapest marked; a rate id goes back to POST /orders
// as shippingRateIds. Read in the cart's one statement, like the summaries.

export async function cartShippingOptions (deps: Deps, userId: string, query: CartQuery): Promise<ShippingOptionsView> {
  const asked = destinationAsked(query)
  const read = await cartLines(deps.db, userId, asked)
  const lines = read.lines.filter((l) => l.sold)
  const workspaceIds = [...new Set(lines.map((l) => l.workspaceId))]
  // An empty cart answers no row from the cart's statement: its destination is read on its own.
  const row = read.pricing ?? await deps.db.selectNoFrom(pricingContextColumns(deps.db, { userId, workspaceIds: sql<readonly string[]>`'{}'::uuid[]`, destination: asked })).executeTakeFirstOrThrow()
  if (asked !== null && 'addressId' in asked && asked.addressId !== undefined && !row.savedAddress) {
    throw NotFound('NOT_FOUND', 'address not found', { field: '/querystring/shippingAddressId', fieldDetail: 'is not one of your addresses' })
  }
  const destination = destinationFrom(asked, row)
  if (!destination) throw BadRequest('VALIDATION_FAILED', 'querystring/country is needed: you have no default address', { field: '/querystring/country', fieldDetail: 'is needed without a default address' })
  const ctx = toPricingContext(row, workspaceIds, deps.config)
  const currencies = [...new Set(lines.map((l) => l.unitPrice.currency))]
  const items = currencies.flatMap((currency) => {
    const priced = computeTotals(pricingLinesOf(lines.filter((l) => l.unitPrice.currency === currency)), ctx, destination)
    const orders = priced.orders.map((o) => ({ workspaceId: o.workspaceId, base: o.subtotal - o.discount }))
    return shippingOptions(orders, ctx, currency, destination).map((s) => ({
      workspaceId: s.workspaceId,
      currency,
      shippable: s.shippable,
      options: s.options.map((o) => ({ rateId: o.rateId, name: o.name, amount: money(o.amount, currency), cheapest: o.cheapest }))
    }))
  })
  return { destination, items }
}
