import { sql } from 'kysely'
import { jsonArrayFrom } from 'kysely/helpers/postgres'
import type { Config } from '../../config.ts'
import type { Trx } from '../../platform/db.ts'
import { Conflict } from '../../platform/errors.ts'
import { MAX_CHARGE } from '../../platform/money.ts'
import { destinationOf, pricingContextColumns, toPricingContext, type PricingContext, type PricingIssue } from '../pricing/public.ts'
import { userContacts } from '../users/public.ts'
import { workspaceStores } from '../workspaces/public.ts'
import type { CheckoutBody, ShippingAddress } from './schemas.ts'

// What checkout reads before it takes the stock, in ONE statement (plan §2.5): a checkout made
// before under the key, the customer's contact, the store names, the saved address, and all
// that pricing needs (the applied code, shipping and tax rates, commissions). Each module owns
// its subquery; adding a fact here costs checkout no statement.

export interface CheckoutFacts {
  previous: string | null
  customer: { email: string, name: string }
  storeNames: ReadonlyMap<string, string>
  /** The address shipped to; null when a saved one named is not the customer's. */
  shippingAddress: ShippingAddress | null
  pricing: PricingContext
}

export async function checkoutFacts (trx: Trx, config: Config, userId: string, idempotencyKey: string, workspaceIds: string[], input: CheckoutBody): Promise<CheckoutFacts> {
  const destination = 'shippingAddress' in input ? destinationOf(input.shippingAddress) : { addressId: input.shippingAddressId }
  const row = await trx.selectFrom(userContacts(trx).as('c'))
    .select((eb) => [
      'c.email', 'c.name',
      eb.selectFrom('checkouts').select('id').where('userId', '=', userId).where('idempotencyKey', '=', idempotencyKey).as('previous'),
      jsonArrayFrom(eb.selectFrom(workspaceStores(trx).as('w')).select(['w.id', 'w.name'])
        .where(sql<boolean>`${sql.ref('w.id')} = any(${workspaceIds}::uuid[])`)).as('stores'),
      ...pricingContextColumns(trx, { userId, workspaceIds: sql<readonly string[]>`${workspaceIds}::uuid[]`, destination })
    ])
    .where('c.id', '=', userId)
    .executeTakeFirstOrThrow()
  const shippingAddress = 'shippingAddress' in input
    ? input.shippingAddress
    : row.savedAddress && { street: row.savedAddress.street, city: row.savedAddress.city, state: row.savedAddress.state, zipCode: row.savedAddress.zipCode, country: row.savedAddress.country }
  return {
    previous: row.previous,
    customer: { email: row.email, name: row.name },
    storeNames: new Map(row.stores.map((s) => [s.id, s.name])),
    shippingAddress,
    pricing: toPricingContext(row, workspaceIds, config)
  }
}

/** Checkout refuses a cart pricing found a problem with (the cart shows the same issues). */
export function pricingRefusal (issue: PricingIssue): Error {
  switch (issue.code) {
    case 'PROMOTION_NOT_APPLICABLE':
      return Conflict('PROMOTION_NOT_APPLICABLE', 'The promotion code applied to the cart does not apply to it now: remove it, or change the cart.', { extra: { reason: issue.reason } })
    case 'NOT_SHIPPABLE':
      return Conflict('NOT_SHIPPABLE', 'A store in the cart does not ship to this address.', { extra: { workspaceId: issue.workspaceId } })
    case 'SHIPPING_RATE_UNAVAILABLE':
      return Conflict('SHIPPING_RATE_UNAVAILABLE', 'The chosen shipping rate does not apply to this order.', { extra: { rateId: issue.rateId } })
    case 'AMOUNT_TOO_LARGE':
      return Conflict('AMOUNT_TOO_LARGE', `One checkout can charge at most ${MAX_CHARGE} minor units (the payment provider's limit): split the cart.`)
    case 'AMOUNT_TOO_SMALL':
      return Conflict('AMOUNT_TOO_SMALL', `One checkout must charge at least ${issue.minimum} minor units in this currency (the payment provider's least charge): add to the cart.`, { extra: { minimum: issue.minimum } })
  }
}
