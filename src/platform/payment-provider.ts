import Stripe from 'stripe'
import type { Config } from '../config.ts'
import { BadGateway, BadRequest, Conflict } from './errors.ts'

// The payment provider behind one small interface: Stripe (the official SDK; STRIPE_API_URL
// points it at stripe-mock or a test double), or, without credentials outside production, a
// local simulator whose payments are driven by `npm run pay` or the simulator routes.

export type IntentStatus = 'requires_payment_method' | 'requires_confirmation' | 'requires_action' | 'processing' | 'requires_capture' | 'canceled' | 'succeeded'

export interface Intent { id: string, clientSecret: string, status: IntentStatus }

/** What the provider says about an intent now: its state and what it captured. */
export interface IntentState { id: string, status: IntentStatus, amount: number, amountReceived: number, currency: string, latestCharge: string | null }

/** A refund as the provider records it; `metadata.refundId` names ours when we asked for it. */
export interface ProviderRefund { id: string, amount: number, status: string, metadata: Record<string, string> }

/** The part of a provider event we act on. */
export interface PaymentEvent {
  id: string
  type: string
  /** Connect events: the connected account the event is about. */
  account?: string
  data: {
    object: {
      id: string
      object?: string
      payment_intent?: string | null
      amount?: number
      amount_received?: number
      /** The charge that paid an intent (vendor transfers are made from it). */
      latest_charge?: string | { id: string } | null
      amount_refunded?: number
      currency?: string
      status?: string
      metadata?: Record<string, string>
    }
  }
}

/** An intent change the provider refused because of the intent's state (paid, processing, cancelled). */
export type IntentChange = 'done' | 'unexpected_state'

export interface PaymentGateway {
  provider: 'stripe' | 'simulator'
  /** Idempotent per checkout (and amount, when the key names it): a retry returns the same intent. */
  createIntent: (input: { checkoutId: string, amount: number, currency: string, userId: string, idempotencyKey?: string }) => Promise<Intent>
  retrieveIntent: (id: string) => Promise<IntentState>
  /** Lowers (or raises) what the intent will charge; refused once it is paid or processing. */
  updateIntentAmount: (id: string, amount: number, idempotencyKey: string) => Promise<IntentChange>
  cancelIntent: (id: string) => Promise<IntentChange>
  /** Throws AppError PAYMENT_PROVIDER_REJECTED when the provider refuses it for good, PAYMENT_PROVIDER_ERROR when it may succeed later. */
  refund: (input: { paymentIntentId: string, amount: number, idempotencyKey: string, metadata: Record<string, string> }) => Promise<{ id: string, status: string }>
  listRefunds: (paymentIntentId: string) => Promise<ProviderRefund[]>
  /** Verifies the signature of a webhook's raw body; throws when it is missing, wrong or too old. */
  verifyWebhook: (rawBody: Buffer, signature: string | undefined, now: Date) => PaymentEvent
}

/** Stripe rejects events signed more than this long ago (replays). */
export const WEBHOOK_TOLERANCE_SECONDS = 300

const providerDown = (err: unknown) =>
  BadGateway('PAYMENT_PROVIDER_ERROR', 'The payment provider could not be reached; retry shortly.', { cause: err })

/** A request the provider understood and refused (4xx): retrying it changes nothing. */
const isRefusal = (err: unknown) => err instanceof Stripe.errors.StripeInvalidRequestError || err instanceof Stripe.errors.StripeCardError

const providerRejected = (err: unknown) =>
  Conflict('PAYMENT_PROVIDER_REJECTED', `The payment provider refused the request: ${(err as Error).message}`, { cause: err })

export function stripeClient (config: Pick<Config, 'stripe'>): Stripe {
  const api = config.stripe.apiUrl ? new URL(config.stripe.apiUrl) : null
  return new Stripe(config.stripe.secretKey!, {
    maxNetworkRetries: 2,
    timeout: 15_000,
    telemetry: false,
    ...(api ? { host: api.hostname, port: Number(api.port || (api.protocol === 'https:' ? 443 : 80)), protocol: api.protocol.replace(':', '') as 'http' | 'https' } : {})
  })
}

function stripeGateway (config: Config): PaymentGateway {
  const stripe = stripeClient(config)
  return {
    provider: 'stripe',
    async createIntent ({ checkoutId, amount, currency, userId, idempotencyKey }) {
      try {
        const intent = await stripe.paymentIntents.create({
          amount,
          currency,
          automatic_payment_methods: { enabled: true },
          metadata: { checkoutId, userId }
        }, { idempotencyKey: idempotencyKey ?? `checkout-${checkoutId}` })
        return { id: intent.id, clientSecret: intent.client_secret ?? '', status: intent.status as IntentStatus }
      } catch (err) {
        throw providerDown(err)
      }
    },
    async retrieveIntent (id) {
      const intent = await stripe.paymentIntents.retrieve(id).catch((err) => { throw providerDown(err) })
      const charge = intent.latest_charge
      return { id: intent.id, status: intent.status as IntentStatus, amount: intent.amount, amountReceived: intent.amount_received, currency: intent.currency, latestCharge: typeof charge === 'string' ? charge : charge?.id ?? null }
    },
    async updateIntentAmount (id, amount, idempotencyKey) {
      try {
        await stripe.paymentIntents.update(id, { amount }, { idempotencyKey })
        return 'done'
      } catch (err) {
        if (isRefusal(err)) return 'unexpected_state'
        throw providerDown(err)
      }
    },
    async cancelIntent (id) {
      try {
        await stripe.paymentIntents.cancel(id)
        return 'done'
      } catch (err) {
        if (isRefusal(err)) return 'unexpected_state'
        throw providerDown(err)
      }
    },
    async refund ({ paymentIntentId, amount, idempotencyKey, metadata }) {
      try {
        const refund = await stripe.refunds.create({ payment_intent: paymentIntentId, amount, metadata }, { idempotencyKey })
        return { id: refund.id, status: refund.status ?? 'pending' }
      } catch (err) {
        throw isRefusal(err) ? providerRejected(err) : providerDown(err)
      }
    },
    async listRefunds (paymentIntentId) {
      const refunds: ProviderRefund[] = []
      try {
        for await (const refund of stripe.refunds.list({ payment_intent: paymentIntentId, limit: 100 })) {
          refunds.push({ id: refund.id, amount: refund.amount, status: refund.status ?? 'pending', metadata: (refund.metadata ?? {}) as Record<string, string> })
        }
      } catch (err) {
        throw providerDown(err)
      }
      return refunds
    },
    verifyWebhook (rawBody, signature, now) {
      if (!signature) throw BadRequest('INVALID_SIGNATURE', 'The Stripe-Signature header is missing.')
      // The platform endpoint's secret, then the Connect endpoint's (account.updated comes from
      // there): either one verifying is enough.
      const secrets = [config.stripe.webhookSecret ?? '', ...(config.stripe.connectWebhookSecret ? [config.stripe.connectWebhookSecret] : [])]
      const failures: Error[] = []
      for (const secret of secrets) {
        try {
          // receivedAt is in milliseconds (the SDK divides by 1000).
          return stripe.webhooks.constructEvent(rawBody, signature, secret, WEBHOOK_TOLERANCE_SECONDS, undefined, now.getTime()) as unknown as PaymentEvent
        } catch (err) {
          failures.push(err as Error)
        }
      }
      // A stale timestamp is the telling reason (it fails under either secret); else the platform secret's.
      const failure = failures.find((err) => /tolerance/i.test(err.message)) ?? failures[0]!
      throw BadRequest('INVALID_SIGNATURE', `The webhook signature does not verify: ${failure.message}`)
    }
  }
}

/** Development without Stripe: intents live only in our database, and are paid by hand. */
function simulatorGateway (): PaymentGateway {
  return {
    provider: 'simulator',
    async createIntent ({ checkoutId }) {
      const id = `pi_sim_${checkoutId.replace(/-/g, '')}`
      return { id, clientSecret: `${id}_secret_simulated`, status: 'requires_payment_method' }
    },
    async retrieveIntent (id) {
      // Nothing is paid outside Bazaar here: the simulator's payments arrive as events.
      return { id, status: 'requires_payment_method', amount: 0, amountReceived: 0, currency: '', latestCharge: null }
    },
    async updateIntentAmount () { return 'done' },
    async cancelIntent () { return 'done' },
    async refund ({ idempotencyKey }) {
      return { id: `re_sim_${idempotencyKey.replace(/[^A-Za-z0-9]/g, '')}`, status: 'succeeded' }
    },
    async listRefunds () { return [] },
    verifyWebhook () {
      throw BadRequest('INVALID_SIGNATURE', 'No webhook secret is configured: use the payment simulator.')
    }
  }
}

export function createPaymentGateway (config: Config): PaymentGateway {
  return config.stripe.secretKey ? stripeGateway(config) : simulatorGateway()
}
