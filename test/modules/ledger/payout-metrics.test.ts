import t from 'tap'
import { eventually } from '../../helpers/eventually.ts'
import { transfersOf } from '../../helpers/ledger.ts'
import { paidRows, refund, scene, signedDelivery } from '../../helpers/ledger-scene.ts'
import { valueOf } from '../../helpers/metrics.ts'

// Issue 14, review 2 findings 3 and 7: the worker counts vendor transfers and reversals by
// outcome (a failed one needs an operator: alert on its increase), served at its /metrics.

const TOKEN = 'metrics-token-of-the-tests-4567'

t.test('the worker counts transfers by outcome (paid, waiting, retried, failed) and reversals (paid, failed), from 0', async (t) => {
  const s = await scene(t, { config: { metricsToken: TOKEN, workerMetricsPort: 0 } })
  const { env, stripe, checkoutId, stores } = s
  const scrape = async () => (await fetch(`http://${env.config.host}:${env.worker!.metricsPort}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text()
  const before = await scrape()
  for (const outcome of ['paid', 'waiting', 'retried', 'failed']) t.equal(valueOf(before, 'bazaar_payout_transfers_total', { outcome }), 0, `transfers ${outcome} start at 0`)
  for (const outcome of ['paid', 'failed']) t.equal(valueOf(before, 'bazaar_payout_reversals_total', { outcome }), 0, `reversals ${outcome} start at 0`)
  stripe.refuseNext('POST', '/v1/transfers', { status: 400, code: 'transfers_not_allowed' })
  await signedDelivery(s, stripe.pay(s.intentId))
  const paid = (await paidRows(env, checkoutId, 1)).find((r) => r.status === 'paid')!
  t.ok((await transfersOf(env, checkoutId)).some((r) => r.status === 'failed'))
  stripe.refuseNext('POST', '/v1/transfers/', { status: 400, code: 'insufficient_funds' })
  const store = stores.find((x) => x.workspaceId === paid.workspaceId)!
  t.equal((await refund(env, store, paid.orderId, 500, 'm-1')).statusCode, 200)
  const after = await eventually(async () => { const text = await scrape(); return valueOf(text, 'bazaar_payout_reversals_total', { outcome: 'failed' }) === 1 ? text : null }, 20000)
  t.equal(valueOf(after, 'bazaar_payout_transfers_total', { outcome: 'paid' }), 1)
  t.equal(valueOf(after, 'bazaar_payout_transfers_total', { outcome: 'failed' }), 1)
  t.equal(valueOf(after, 'bazaar_payout_transfers_total', { outcome: 'waiting' }), 0)
  t.equal(valueOf(after, 'bazaar_payout_reversals_total', { outcome: 'paid' }), 0)
})
