import { Type, type Static } from '@sinclair/typebox'
import { checkUrl } from './config-checks.ts'

// The payment settings of loadConfig() (config.ts): Stripe's credentials (unset: the local
// simulator, never in production), the Connect webhook's own signing secret, and the platform's
// commission on vendors' sales (issue 14).

export const PaymentsEnv = Type.Object({
  STRIPE_SECRET_KEY: Type.Optional(Type.String({ minLength: 1, description: 'a Stripe secret key' })),
  STRIPE_WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 1, description: 'a Stripe webhook signing secret' })),
  STRIPE_API_URL: Type.Optional(Type.String({ description: 'an http(s) URL' })),
  STRIPE_CONNECT_WEBHOOK_SECRET: Type.Optional(Type.String({ pattern: '^whsec_[A-Za-z0-9]+$', description: 'a Stripe webhook signing secret (whsec_…) of the Connect endpoint' })),
  PLATFORM_COMMISSION_BPS: Type.Integer({ minimum: 0, maximum: 10000, default: 1000, description: 'an integer 0-10000: the platform\'s commission in basis points (1000 = 10 %)' }),
  CONNECT_ACCOUNT_COUNTRY: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$', description: 'a two-letter upper-case country code (ISO 3166-1 alpha-2)' }))
})

export interface StripeConfig {
  secretKey: string | undefined
  webhookSecret: string | undefined
  apiUrl: string | undefined
  /** The Connect endpoint's signing secret (account.updated); unset, only webhookSecret is tried. */
  connectWebhookSecret?: string | undefined
}

export interface PaymentsConfig {
  /** The platform's commission when a workspace has no override, in basis points. */
  commissionBps: number
  /** Country of new Express accounts; unset, Stripe's default (the platform's). */
  connectAccountCountry: string | undefined
}

export function paymentsConfig (env: Static<typeof PaymentsEnv>): { stripe: StripeConfig, payments: PaymentsConfig } {
  checkUrl('STRIPE_API_URL', env.STRIPE_API_URL, ['http:', 'https:'])
  return {
    stripe: { secretKey: env.STRIPE_SECRET_KEY, webhookSecret: env.STRIPE_WEBHOOK_SECRET, apiUrl: env.STRIPE_API_URL, connectWebhookSecret: env.STRIPE_CONNECT_WEBHOOK_SECRET },
    payments: { commissionBps: env.PLATFORM_COMMISSION_BPS, connectAccountCountry: env.CONNECT_ACCOUNT_COUNTRY }
  }
}
