import type { Test as Tap } from 'tap'
import type { TestEnvOptions } from './app.ts'
import { createUser, login } from './auth.ts'
import { checkout, type Store } from './commerce.ts'
import { eventually } from './eventually.ts'
import { transfersOf } from './ledger.ts'
import { deliver, paymentEnv, twoStoreCart, type PaymentEnv } from './payments.ts'
import { onboard } from './payouts.ts'

// The ledger tests' scene (issue 14, plan §7.6), Example D: store A sells 2 × 2000 at the
// default 10 % (transfer 3600), store B 1 × 1500 at 12.5 % (commission 187.5 → 188, transfer
// 1312). The worker runs in process (outbox + payouts).

export async function scene (t: Tap, options: { enableB?: boolean, config?: TestEnvOptions['config'] } = {}) {
  const pe = await paymentEnv(t, { worker: { queues: ['outbox', 'payouts'] }, config: options.config })
  const { env, stripe } = pe
  const { stores, buyer } = await twoStoreCart(env)
  const accounts = [await onboard(env, stripe, stores[0]!), options.enableB === false ? null : await onboard(env, stripe, stores[1]!)]
  // Store B's commission override (an admin's; frozen on its order at checkout).
  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  const override = await env.app.inject({ method: 'PUT', url: `/admin/workspaces/${stores[1]!.workspaceId}/commission`, headers: admin.headers, payload: { commissionBps: 1250 } })
  t.equal(override.statusCode, 200, override.body)
  const res = await checkout(env, buyer)
  t.equal(res.statusCode, 201, res.body)
  const checkoutId = res.json().checkoutId as string
  const intentId = (await env.app.db.selectFrom('checkouts').select('paymentIntentId').where('id', '=', checkoutId).executeTakeFirstOrThrow()).paymentIntentId!
  const orders = await env.app.db.selectFrom('orders').select(['id', 'workspaceId', 'commissionAmount', 'totalAmount']).where('checkoutId', '=', checkoutId).execute()
  const orderOf = (i: number) => orders.find((o) => o.workspaceId === stores[i]!.workspaceId)!
  return { ...pe, stores, accounts, checkoutId, intentId, orderOf, admin }
}

export function signedDelivery ({ env, stripe }: PaymentEnv, event: object) {
  return deliver(env, stripe.signedEvent(event, { timestamp: Math.floor(env.app.clock.now().getTime() / 1000) }))
}

export async function refund (env: PaymentEnv['env'], store: Store, orderId: string, amount: number, key: string) {
  return env.app.inject({ method: 'POST', url: `/workspaces/${store.workspaceId}/orders/${orderId}/refund`, headers: { ...store.owner.headers, 'idempotency-key': key }, payload: { amount } })
}

export const paidRows = async (env: PaymentEnv['env'], checkoutId: string, n: number) =>
  eventually(async () => {
    const rows = await transfersOf(env, checkoutId)
    return rows.filter((r) => r.status === 'paid').length === n ? rows : null
  }, 20000)
