import t from 'tap'
import { ManualClock } from '../../../src/platform/clock.ts'
import { checkout } from '../../helpers/commerce.ts'
import { eventually } from '../../helpers/eventually.ts'
import { transfersOf } from '../../helpers/ledger.ts'
import { payAndNotify, paymentEnv, twoStoreCart } from '../../helpers/payments.ts'
import { onboard } from '../../helpers/payouts.ts'

// Issue 14 (WP5, plan §7.2, §10.2): Stripe prunes idempotency keys after a day. A transfer
// Stripe made whose answer was lost, retried more than 23 hours after its first claim, is
// looked up by its transfer group and our id first, so the retry records it and sends nothing.

t.test('a retry after Stripe pruned the key finds the transfer made and sends no second one', async (t) => {
  const clock = new ManualClock()
  const { env, stripe } = await paymentEnv(t, { clock, worker: { queues: ['outbox', 'payouts'] } })
  const { stores, buyer } = await twoStoreCart(env)
  const account = await onboard(env, stripe, stores[0]!)
  const res = await checkout(env, buyer)
  const checkoutId = res.json().checkoutId as string
  const intentId = (await env.app.db.selectFrom('checkouts').select('paymentIntentId').where('id', '=', checkoutId).executeTakeFirstOrThrow()).paymentIntentId!
  // The transfer is made, but every answer (the SDK's two retries included) is lost.
  stripe.dropResponses((method, path) => method === 'POST' && path === '/v1/transfers', 3)
  await payAndNotify(env, stripe, intentId)
  await eventually(() => stripe.requests.filter((r) => r.path === '/v1/transfers' && r.method === 'POST').length === 3, 20000)
  t.equal(stripe.transfers.size, 1, 'Stripe made it')
  // A day later, the key is gone at Stripe.
  stripe.forgetIdempotencyKeys()
  clock.advance(25 * 3600 * 1000)
  const row = await eventually(async () => (await transfersOf(env, checkoutId)).find((r) => r.workspaceId === stores[0]!.workspaceId && r.status === 'paid'), 20000)
  t.equal(stripe.transfers.size, 1, 'no second transfer')
  t.equal(row.stripeTransferId, [...stripe.transfers.keys()][0], 'the one Stripe made is recorded')
  t.equal(row.attempts, 2)
  t.ok(stripe.requests.some((r) => r.method === 'GET' && r.path === '/v1/transfers'), 'looked up by its group')
  t.equal(stripe.transfersTo(account), 3600)
})
