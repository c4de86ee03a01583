import type { PaymentEvent } from '../../platform/payment-provider.ts'
import {
  applyPaymentFailed, applyPaymentSucceeded, applyProviderState, checkoutByIntent, executeRefunds, owedAmount, readProviderState,
  type OrderDeps, type PaymentOutcome, type ProviderState
} from '../orders/public.ts'

// Provider events, each processed exactly once: the event id is inserted in the same
// transaction as the event's effect, so a redelivered or concurrent copy finds it there and
// does nothing. Effects are order-independent: a failure never overwrites a success; a
// payment is applied once per checkout and only for the amount and currency it owes; a
// refund event re-reads the intent and its refunds from the provider (it may arrive before
// the payment's own event), and each provider refund is recorded once by its id.

const chargeOf = (charge: string | { id: string } | null | undefined): string | null => typeof charge === 'string' ? charge : charge?.id ?? null

export async function processPaymentEvent (deps: OrderDeps, event: PaymentEvent): Promise<{ duplicate: boolean }> {
  const object = event.data.object
  const intentId = object.object === 'charge' ? object.payment_intent ?? null : object.id
  let state: ProviderState | null = null
  if ((event.type === 'charge.refunded' || event.type === 'payment_intent.succeeded') && intentId) {
    const seen = await deps.db.selectFrom('paymentEvents').select('id').where('id', '=', event.id).executeTakeFirst()
    if (seen) return { duplicate: true }
    const ours = await checkoutByIntent(deps.db, intentId)
    // When the order of events is unclear (a refund event; a payment that is not exactly what
    // is owed now, e.g. captured before a cancel lowered the intent), Stripe's own state is read.
    // Read before the transaction (no row lock held over a network call); a failure answers
    // 5xx without recording the event, so the provider delivers it again.
    const unclear = event.type === 'charge.refunded' ||
      (ours?.amountReceived === null && object.amount_received !== await owedAmount(deps.db, ours.id))
    if (ours && unclear) state = await readProviderState(deps.gateway, intentId)
  }
  const result = await deps.db.transaction().execute(async (trx): Promise<{ duplicate: boolean, outcome?: PaymentOutcome }> => {
    const recorded = await trx.insertInto('paymentEvents')
      .values({ id: event.id, type: event.type, paymentIntentId: intentId, receivedAt: deps.clock.now() })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst()
    if (!recorded) return { duplicate: true }
    const checkout = intentId ? await checkoutByIntent(trx, intentId) : undefined
    if (!checkout) {
      deps.log.info({ eventId: event.id, type: event.type }, 'payment event for no checkout of ours; recorded and ignored')
      return { duplicate: false }
    }
    if (event.type === 'payment_intent.succeeded') {
      const source = `payment ${intentId}`
      if (state?.intent.status === 'succeeded') return { duplicate: false, outcome: await applyProviderState(trx, deps, checkout.id, state, event.id, source) }
      const outcome = await applyPaymentSucceeded(trx, deps, checkout.id, {
        intentId: intentId!, amountReceived: object.amount_received, currency: object.currency, eventId: event.id, source, chargeId: chargeOf(object.latest_charge), ...(state ? { providerAgrees: false } : {})
      })
      return { duplicate: false, outcome }
    }
    if (event.type === 'payment_intent.payment_failed') await applyPaymentFailed(trx, deps, checkout.id)
    else if (event.type === 'charge.refunded' && state) return { duplicate: false, outcome: await applyProviderState(trx, deps, checkout.id, state, event.id) }
    return { duplicate: false }
  })
  // Refunds of shares the payment covered for cancelled orders; one that fails here is retried by the job.
  if (result.outcome) await executeRefunds(deps, result.outcome.refundIds)
  return { duplicate: result.duplicate }
}
