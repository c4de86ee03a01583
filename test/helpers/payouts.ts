import type { TestEnv } from './app.ts'
import type { Store } from './commerce.ts'
import { deliver } from './payments.ts'
import type { StripeDouble } from './stripe-double.ts'

// Stripe Connect for payout tests: a store's owner onboards through the real route, the vendor
// finishes at the double, and the signed account.updated (Connect secret) is delivered.

export async function startOnboarding (env: TestEnv, store: Store) {
  return env.app.inject({ method: 'POST', url: `/workspaces/${store.workspaceId}/payouts/onboarding`, headers: store.owner.headers })
}

/** A Connect event signed with the Connect endpoint's secret, at the app's time. */
export function deliverConnect (env: TestEnv, stripe: StripeDouble, event: object) {
  return deliver(env, stripe.signedEvent(event, { secret: stripe.connectWebhookSecret, timestamp: Math.floor(env.app.clock.now().getTime() / 1000) }))
}

/** Onboards a store and enables its payouts (or leaves them off); returns its connected account id. */
export async function onboard (env: TestEnv, stripe: StripeDouble, store: Store, options: { payouts?: boolean } = {}): Promise<string> {
  const res = await startOnboarding(env, store)
  if (res.statusCode !== 200) throw new Error(`onboarding refused: ${res.statusCode} ${res.body}`)
  const { accountId } = res.json() as { accountId: string }
  const delivered = await deliverConnect(env, stripe, stripe.completeOnboarding(accountId, options))
  if (delivered.statusCode !== 200) throw new Error(`account.updated refused: ${delivered.statusCode} ${delivered.body}`)
  return accountId
}

export async function payoutsOf (env: TestEnv, store: Store) {
  return env.app.inject({ method: 'GET', url: `/workspaces/${store.workspaceId}/payouts`, headers: store.owner.headers })
}
