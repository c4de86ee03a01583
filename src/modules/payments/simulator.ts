import type { Deps } from '../../platform/deps.ts'
import { NotFound } from '../../platform/errors.ts'
import { createPaymentGateway } from '../../platform/payment-provider.ts'
import { checkoutOfOwner, owedAmount } from '../orders/public.ts'
import { processPaymentEvent } from './events.ts'

/**
 * The local simulator (no Stripe credentials, never in production): settles a checkout through
 * the very code path of a verified webhook event, paying what the checkout owes now.
 */
export async function simulatePayment (deps: Deps, checkoutId: string, outcome: 'succeed' | 'fail'): Promise<{ duplicate: boolean }> {
  const checkout = await checkoutOfOwner(deps.db, checkoutId, null)
  if (!checkout || checkout.provider !== 'simulator' || !checkout.paymentIntentId) throw NotFound('NOT_FOUND', 'simulated checkout not found')
  const type = outcome === 'succeed' ? 'payment_intent.succeeded' : 'payment_intent.payment_failed'
  const owed = await owedAmount(deps.db, checkoutId)
  return processPaymentEvent({ ...deps, gateway: createPaymentGateway(deps.config) }, {
    id: `evt_sim_${deps.random.token(12)}`,
    type,
    data: { object: { id: checkout.paymentIntentId, object: 'payment_intent', amount: owed, amount_received: outcome === 'succeed' ? owed : 0, currency: checkout.currency, metadata: { checkoutId } } }
  })
}
