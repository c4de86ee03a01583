import type { Deps } from '../../platform/deps.ts'
import { NotFound } from '../../platform/errors.ts'
import { applyChargeRefunded, applyPaymentFailed, applyPaymentSucceeded } from '../orders/service.ts'
import type { PaymentEvent } from './gateway.ts'

// Provider events, each processed exactly once: the event id is inserted in the same
// transaction as the event's effect, so a redelivered or concurrent copy finds it there and
// does nothing. Effects are order-independent: a failure never overwrites a success.

export async function processPaymentEvent (deps: Deps, event: PaymentEvent): Promise<{ duplicate: boolean }> {
  const object = event.data.object
  const intentId = object.object === 'charge' ? object.payment_intent ?? null : object.id
  return deps.db.transaction().execute(async (trx) => {
    const recorded = await trx.insertInto('paymentEvents')
      .values({ id: event.id, type: event.type, paymentIntentId: intentId, receivedAt: deps.clock.now() })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst()
    if (!recorded) return { duplicate: true }
    const checkout = intentId
      ? await trx.selectFrom('checkouts').select('id').where('paymentIntentId', '=', intentId).executeTakeFirst()
      : undefined
    if (!checkout) {
      deps.log.info({ eventId: event.id, type: event.type }, 'payment event for no checkout of ours; recorded and ignored')
      return { duplicate: false }
    }
    if (event.type === 'payment_intent.succeeded') await applyPaymentSucceeded(trx, deps, checkout.id, `payment ${intentId}`)
    else if (event.type === 'payment_intent.payment_failed') await applyPaymentFailed(trx, deps, checkout.id)
    else if (event.type === 'charge.refunded') await applyChargeRefunded(trx, deps, checkout.id, object.amount_refunded ?? 0)
    return { duplicate: false }
  })
}

/**
 * The local simulator (no Stripe credentials, never in production): settles a checkout through
 * the very code path of a verified webhook event.
 */
export async function simulatePayment (deps: Deps, checkoutId: string, outcome: 'succeed' | 'fail'): Promise<{ duplicate: boolean }> {
  const checkout = await deps.db.selectFrom('checkouts').select(['paymentIntentId', 'provider']).where('id', '=', checkoutId).executeTakeFirst()
  if (!checkout || checkout.provider !== 'simulator' || !checkout.paymentIntentId) throw NotFound('simulated checkout')
  const type = outcome === 'succeed' ? 'payment_intent.succeeded' : 'payment_intent.payment_failed'
  return processPaymentEvent(deps, {
    id: `evt_sim_${deps.random.token(12)}`,
    type,
    data: { object: { id: checkout.paymentIntentId, object: 'payment_intent', metadata: { checkoutId } } }
  })
}
