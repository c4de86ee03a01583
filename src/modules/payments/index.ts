import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { NotFound, problems } from '../../platform/errors.ts'
import { Text } from '../../platform/schema-types.ts'
import { principalOf } from '../../platform/principal.ts'
import type { PaymentGateway } from './gateway.ts'
import { processPaymentEvent, simulatePayment } from './service.ts'

const tags = ['payments']

const payments: FastifyPluginAsyncTypebox<{ gateway: PaymentGateway }> = async (app, { gateway }) => {
  const deps = { ...app.deps, gateway }

  // The webhook signature covers the exact bytes sent: in this scope JSON bodies stay raw.
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_request, body, done) => done(null, body))

  app.post('/payments/webhook', {
    config: { idempotency: 'off', rateLimit: false },
    schema: {
      tags,
      summary: 'Stripe webhook: signature-verified, each event processed once',
      description: 'payment_intent.succeeded confirms the checkout\'s orders when amount_received and currency match what the checkout owes (otherwise nothing is confirmed and the payment is kept for review), refunding the share of orders cancelled before it arrived; payment_intent.payment_failed marks them failed (never overriding a success); charge.refunded re-reads the intent and its refunds from Stripe and records each refund once. Unsigned, tampered or stale (over 5 minutes) requests get 400 and change nothing.',
      headers: Type.Object({ 'stripe-signature': Type.Optional(Text()) }),
      response: { 200: Type.Object({ received: Type.Literal(true), duplicate: Type.Boolean() }), ...problems(400, 502) }
    }
  }, async (request) => {
    const event = gateway.verifyWebhook(request.body as Buffer, request.headers['stripe-signature'], deps.clock.now())
    const { duplicate } = await processPaymentEvent(deps, event)
    return { received: true as const, duplicate }
  })

  if (app.config.env !== 'production' && gateway.provider === 'simulator') {
    app.post('/payments/simulator/:checkoutId/:outcome', {
      config: { auth: 'user' },
      schema: {
        tags,
        summary: 'Local payment simulator (no Stripe credentials; never in production): pay or fail a checkout',
        params: Type.Object({ checkoutId: Type.String({ format: 'uuid' }), outcome: Type.Union([Type.Literal('succeed'), Type.Literal('fail')]) }),
        response: { 200: Type.Object({ received: Type.Literal(true), duplicate: Type.Boolean() }), ...problems(404) }
      }
    }, async (request) => {
      const principal = principalOf(request)
      const owner = await deps.db.selectFrom('checkouts').select('userId').where('id', '=', request.params.checkoutId).executeTakeFirst()
      if (!owner || (owner.userId !== principal.userId && principal.type !== 'admin')) throw NotFound('checkout')
      return { received: true as const, ...(await simulatePayment(deps, request.params.checkoutId, request.params.outcome)) }
    })
  }
}

export default payments
