import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { NotFound, problems } from '../../platform/errors.ts'
import { principalOf } from '../../platform/principal.ts'
import type { ConnectGateway } from '../../platform/payment-connect.ts'
import type { PaymentGateway } from '../../platform/payment-provider.ts'
import { checkoutOfOwner, type OrderDeps } from '../orders/public.ts'
import { membershipRole } from '../workspaces/public.ts'
import { processAccountEvent, simulateAccount } from './account-events.ts'
import { processPaymentEvent } from './events.ts'
import { AccountSimulatorParams, EventReceipt, SimulatorParams, WebhookHeaders } from './schemas.ts'
import { simulatePayment } from './simulator.ts'

const tags = ['payments']

const payments: FastifyPluginAsyncTypebox<{ gateway: PaymentGateway, connect: ConnectGateway }> = async (app, { gateway, connect }) => {
  const deps: OrderDeps = { ...app.deps, gateway }

  // The webhook signature covers the exact bytes sent: in this scope JSON bodies stay raw.
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_request, body, done) => done(null, body))

  app.post('/payments/webhook', {
    config: { idempotency: 'off', rateLimit: false },
    schema: {
      operationId: 'receiveStripeWebhook',
      tags,
      summary: 'Stripe webhook: signature-verified, each event processed once',
      description: 'payment_intent.succeeded confirms the checkout\'s orders when amount_received and currency match what the checkout owes (otherwise nothing is confirmed and the payment is kept for review), refunding the share of orders cancelled before it arrived; payment_intent.payment_failed marks them failed (never overriding a success); charge.refunded re-reads the intent and its refunds from Stripe and records each refund once. account.updated (Stripe Connect; signed with STRIPE_CONNECT_WEBHOOK_SECRET, the platform secret is accepted too) re-reads the account from Stripe and applies its current state once (a 502 when Stripe cannot be reached: Stripe delivers it again); transfer.* events are recorded and ignored. Unsigned, tampered or stale (over 5 minutes) requests get 400 and change nothing.',
      headers: WebhookHeaders,
      response: { 200: EventReceipt, ...problems(400, 502) }
    }
  }, async (request) => {
    const event = gateway.verifyWebhook(request.body as Buffer, request.headers['stripe-signature'], deps.clock.now())
    const { duplicate } = event.type === 'account.updated'
      ? await processAccountEvent({ ...app.deps, connect }, event)
      : await processPaymentEvent(deps, event)
    return { received: true as const, duplicate }
  })

  if (app.config.env !== 'production' && gateway.provider === 'simulator') {
    app.post('/payments/simulator/:checkoutId/:outcome', {
      config: { auth: 'user' },
      schema: {
        operationId: 'simulatePayment',
        tags,
        summary: 'Local payment simulator (no Stripe credentials; never in production): pay or fail a checkout',
        description: 'Registered only outside production when no Stripe key is configured. succeed confirms the checkout\'s orders as a payment_intent.succeeded webhook would; fail marks them failed. A user may settle only their own checkout (another\'s is 404); a platform admin any.',
        params: SimulatorParams,
        response: { 200: EventReceipt, ...problems(404) }
      }
    }, async (request) => {
      const principal = principalOf(request)
      // An admin may settle anyone's checkout; a user only their own (another's is not found).
      const checkout = await checkoutOfOwner(deps.db, request.params.checkoutId, principal.type === 'admin' ? null : principal.userId)
      if (!checkout) throw NotFound('NOT_FOUND', 'checkout not found')
      return { received: true as const, ...(await simulatePayment(deps, request.params.checkoutId, request.params.outcome)) }
    })

    app.post('/payments/simulator/accounts/:workspaceId/:outcome', {
      config: { auth: 'user' },
      schema: {
        operationId: 'simulateConnectAccount',
        tags,
        summary: 'Local payout simulator (no Stripe credentials; never in production): enable or restrict a workspace\'s connected account',
        description: 'Registered only outside production when no Stripe key is configured; the onboarding link of simulator mode points here (POST it). enable completes onboarding (payouts enabled) as a signed account.updated would; restrict marks it past due. Only the workspace\'s owner, or a platform admin; anyone else, and a workspace that never started onboarding, get 404.',
        params: AccountSimulatorParams,
        response: { 200: EventReceipt, ...problems(404) }
      }
    }, async (request) => {
      const principal = principalOf(request)
      const { workspaceId, outcome } = request.params
      if (principal.type !== 'admin' && await membershipRole(deps.db, principal.userId, workspaceId) !== 'owner') throw NotFound('NOT_FOUND', 'workspace not found')
      return { received: true as const, ...(await simulateAccount(deps, workspaceId, outcome)) }
    })
  }
}

export default payments
