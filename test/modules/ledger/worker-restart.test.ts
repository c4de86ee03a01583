import t from 'tap'
import { checkout } from '../../helpers/commerce.ts'
import { eventually } from '../../helpers/eventually.ts'
import { transfersOf } from '../../helpers/ledger.ts'
import { deliver, paymentEnv, twoStoreCart } from '../../helpers/payments.ts'
import { onboard } from '../../helpers/payouts.ts'
import { spawnWorker, type SpawnedProcess } from '../../helpers/processes.ts'

// Issue 14 (WP5, plan §7.4): a worker killed after Stripe made the transfer but before it was
// recorded (SIGKILL while the answer is held) leaves the job to the next worker, which claims
// the row again and sends the same key and amount: Stripe replays the same transfer, and it is
// recorded once. Real processes, as platform/worker-crash.test.ts.

t.test('a worker restart creates no second transfer', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const { stores, buyer } = await twoStoreCart(env)
  await onboard(env, stripe, stores[0]!)
  await onboard(env, stripe, stores[1]!)
  const res = await checkout(env, buyer)
  t.equal(res.statusCode, 201)
  const checkoutId = res.json().checkoutId as string
  const intentId = (await env.app.db.selectFrom('checkouts').select('paymentIntentId').where('id', '=', checkoutId).executeTakeFirstOrThrow()).paymentIntentId!

  const workers: SpawnedProcess[] = []
  t.teardown(async () => { for (const w of workers) await w.kill() })
  const stripeEnv = { STRIPE_SECRET_KEY: stripe.secretKey, STRIPE_WEBHOOK_SECRET: stripe.webhookSecret, STRIPE_API_URL: stripe.url, LOG_LEVEL: 'info' }
  const start = async () => {
    const w = spawnWorker(env.config, stripeEnv)
    workers.push(w)
    await eventually(() => /worker started/.test(w.output()), 30000)
    return w
  }

  const hold = stripe.holdResponses((method, path) => method === 'POST' && path === '/v1/transfers')
  const first = await start()
  const paid = stripe.pay(intentId)
  t.equal((await deliver(env, stripe.signedEvent(paid))).statusCode, 200)
  // Stripe made both transfers; the worker waits for the answers.
  await eventually(() => hold.held() === 2 && stripe.transfers.size === 2, 30000)
  t.same((await transfersOf(env, checkoutId)).map((r) => r.status), ['in_flight', 'in_flight'], 'claimed, not recorded')
  await start()
  await first.kill()
  hold.release()

  const rows = await eventually(async () => {
    const r = await transfersOf(env, checkoutId)
    return r.every((x) => x.status === 'paid') ? r : null
  }, 40000)
  t.equal(stripe.transfers.size, 2, 'exactly two transfers at Stripe')
  t.same(rows.map((r) => r.stripeTransferId).sort(), [...stripe.transfers.keys()].sort(), 'recorded as the ones Stripe made')
  const keys = stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/transfers').map((r) => r.idempotencyKey!)
  for (const row of rows) t.ok(keys.filter((k) => k === `transfer-${row.orderId}`).length >= 2, 'the second worker repeated the same key')
  t.ok(rows.every((r) => r.attempts >= 2), 'claimed again after the crash')
  t.equal((await env.app.db.selectFrom('ledgerEntries').select('id').where('type', '=', 'transfer').execute()).length, 4, 'one ledger pair per transfer')
})
