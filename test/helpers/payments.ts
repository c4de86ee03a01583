import { randomBytes } from 'node:crypto'
import type { Tap } from './app.ts'
import { createTestEnv, type TestEnv, type TestEnvOptions } from './app.ts'
import { addToCart, approvedStore, checkout, createProduct, shopper, type Shopper, type Store } from './commerce.ts'
import { startStripeDouble, type StripeDouble } from './stripe-double.ts'

// An app wired to the local Stripe double, and a paid-for-nothing-yet checkout over two stores:
// the starting point of the webhook, lifecycle and reconciliation tests.

export interface PaymentEnv { env: TestEnv, stripe: StripeDouble }

export async function paymentEnv (t: Tap, options: TestEnvOptions = {}): Promise<PaymentEnv> {
  const stripe = await startStripeDouble()
  t.teardown(() => stripe.close())
  const env = await createTestEnv(t, {
    ...options,
    config: { stripe: { secretKey: stripe.secretKey, webhookSecret: stripe.webhookSecret, apiUrl: stripe.url, connectWebhookSecret: stripe.connectWebhookSecret }, ...options.config }
  })
  return { env, stripe }
}

export interface PlacedCheckout {
  checkoutId: string
  intentId: string
  orders: any[]
  buyer: Shopper
  stores: Store[]
  /** variant id → stock left after the checkout */
  variants: string[]
}

/** Two stores, one product each (stock 10), and a customer whose cart holds 2 × 2000 and 1 × 1500. */
export async function twoStoreCart (env: TestEnv) {
  const stores = [await approvedStore(env), await approvedStore(env)]
  const products = [
    await createProduct(env, stores[0]!, { price: 2000, variants: [{ stock: 10 }] }),
    await createProduct(env, stores[1]!, { price: 1500, variants: [{ stock: 10 }] })
  ]
  const buyer = await shopper(env)
  await addToCart(env, buyer, products[0].variants[0].id, 2)
  await addToCart(env, buyer, products[1].variants[0].id, 1)
  return { stores, products, buyer }
}

/** Two stores, one product each, one customer who checked out both (stock 10, quantities 2 and 1). */
export async function placedCheckout (env: TestEnv): Promise<PlacedCheckout> {
  const { stores, products, buyer } = await twoStoreCart(env)
  const res = await checkout(env, buyer)
  if (res.statusCode !== 201) throw new Error(`checkout failed: ${res.statusCode} ${res.body}`)
  const body = res.json()
  const row = await env.app.db.selectFrom('checkouts').select('paymentIntentId').where('id', '=', body.checkoutId).executeTakeFirstOrThrow()
  return { checkoutId: body.checkoutId, intentId: row.paymentIntentId!, orders: body.orders, buyer, stores, variants: products.map((p) => p.variants[0].id) }
}

/** A hand-made intent event (for forged or unknown intents); real ones come from the double's `events`. */
export function intentEvent (type: string, intentId: string, id = `evt_${randomBytes(8).toString('hex')}`, fields: Record<string, unknown> = {}) {
  return { id, object: 'event', type, created: Math.floor(Date.now() / 1000), data: { object: { id: intentId, object: 'payment_intent', status: type.endsWith('succeeded') ? 'succeeded' : 'requires_payment_method', ...fields } } }
}

/** The customer pays the intent at Stripe and its payment_intent.succeeded webhook is delivered. */
export async function payAndNotify (env: TestEnv, stripe: StripeDouble, intentId: string) {
  const event = stripe.pay(intentId)
  // Signed at the app's time (tests move a manual clock; the signature's tolerance follows it).
  const res = await deliver(env, stripe.signedEvent(event, { timestamp: Math.floor(env.app.clock.now().getTime() / 1000) }))
  if (res.statusCode !== 200) throw new Error(`webhook refused: ${res.statusCode} ${res.body}`)
  return event
}

export function deliver (env: TestEnv, signed: { payload: string, signature?: string }) {
  return env.app.inject({
    method: 'POST',
    url: '/payments/webhook',
    headers: { 'content-type': 'application/json', ...(signed.signature ? { 'stripe-signature': signed.signature } : {}) },
    payload: signed.payload
  })
}

/** Outbox rows written so far for an email template. */
export async function outboxCount (env: TestEnv, template: string): Promise<number> {
  const rows = await env.app.db.selectFrom('outbox').select('id').where('jobName', '=', template).execute()
  return rows.length
}

export async function ordersOf (env: TestEnv, checkoutId: string) {
  return env.app.db.selectFrom('orders').select(['id', 'status', 'paymentStatus', 'refundedAmount', 'totalAmount']).where('checkoutId', '=', checkoutId).orderBy('id').execute()
}

export async function stockOf (env: TestEnv, variantIds: string[]): Promise<number[]> {
  const rows = await env.app.db.selectFrom('productVariants').select(['id', 'stock']).where('id', 'in', variantIds).execute()
  return variantIds.map((id) => rows.find((r) => r.id === id)!.stock)
}
