import t from 'tap'
import { eventually } from '../../helpers/eventually.ts'
import { expectedEarnings, ledgerSums, transfersOf } from '../../helpers/ledger.ts'
import { paidRows, refund, scene, signedDelivery } from '../../helpers/ledger-scene.ts'
import { deliverConnect } from '../../helpers/payouts.ts'

interface StripeAnswer { error: { type: string, code?: string } }

// Issue 14, review 2: a transfer the provider refused was never made, so what goes back to
// waiting or queued carries what is due now (share − vendorPart(refunded)) and no pending
// reversal, and the next try uses a new idempotency key. Example D (store B's share 1312).

t.test('a refund while in flight, a refusal for now, a second refund while waiting: the vendor gets its share net of both refunds, once (finding 1)', async (t) => {
  const s = await scene(t)
  const { env, stripe, checkoutId, stores, accounts } = s
  const wsB = stores[1]!.workspaceId
  const rowB = async () => (await transfersOf(env, checkoutId)).find((r) => r.workspaceId === wsB)!
  stripe.unavailable = (method, path) => method === 'POST' && path === '/v1/transfers'
  await signedDelivery(s, stripe.pay(s.intentId))
  await eventually(async () => (await transfersOf(env, checkoutId)).every((r) => r.status === 'in_flight') ? true : null, 20000)
  const b = s.orderOf(1).id
  t.equal((await refund(env, stores[1]!, b, 500, 'f1-1')).statusCode, 200)
  const pending = await env.app.db.selectFrom('transferReversals').select(['amount', 'status']).where('transferId', '=', (await rowB()).id).execute()
  t.same(pending, [{ amount: 437, status: 'pending' }], 'in flight: the amount stays 1312, the vendor part of 500 waits as a reversal')
  stripe.restrictAccount(accounts[1]!)
  stripe.unavailable = null
  await eventually(async () => (await rowB()).status === 'waiting' ? true : null, 30000)
  const waiting = await rowB()
  t.equal(waiting.amount, 875, 'refused for now: the transfer carries 1312 − 437')
  t.same(await env.app.db.selectFrom('transferReversals').select('status').where('transferId', '=', waiting.id).execute(), [{ status: 'void' }], 'its pending reversal is cancelled (folded into the amount)')
  t.equal((await refund(env, stores[1]!, b, 300, 'f1-2')).statusCode, 200)
  t.equal((await rowB()).amount, 612, 'a refund while waiting lowers it to share − vendorPart(800)')
  t.equal((await deliverConnect(env, stripe, stripe.completeOnboarding(accounts[1]!))).statusCode, 200)
  await paidRows(env, checkoutId, 2)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const expected = await expectedEarnings(env, wsB)
  t.equal(expected, 612)
  t.equal(stripe.transfersTo(accounts[1]!), 612, 'Stripe net to B: 612, nothing reversed')
  t.same(await ledgerSums(env, wsB), { pending: 0, paidOut: 612, platform: 0, total: 612 }, 'ledger: all of it paid out, nothing stranded in pending')
  t.equal((await env.app.db.selectFrom('transferReversals').select('id').where('status', '=', 'pending').execute()).length, 0)
})

t.test('balance_insufficient: the transfer is queued again under a new key, so a refund meanwhile never sends one key with two amounts; the double keeps the refusal and refuses the key reused (findings 2, 8)', async (t) => {
  const s = await scene(t)
  const { env, stripe, checkoutId, stores } = s
  stripe.refuseNext('POST', '/v1/transfers', { status: 400, code: 'balance_insufficient' })
  await signedDelivery(s, stripe.pay(s.intentId))
  const row = await eventually(async () => (await transfersOf(env, checkoutId)).find((r) => r.lastError === 'balance_insufficient' && r.status === 'queued') ?? null, 20000)
  t.equal(row.refusals, 1, 'its next try goes with a new key')
  const store = stores.find((x) => x.workspaceId === row.workspaceId)!
  t.equal((await refund(env, store, row.orderId, 500, 'f2-1')).statusCode, 200)
  await paidRows(env, checkoutId, 2)
  const sent = stripe.requests.filter((q) => q.method === 'POST' && q.path === '/v1/transfers' && q.body['metadata[orderId]'] === row.orderId)
  const byKey = new Map<string, Set<string>>()
  for (const q of sent) byKey.set(q.idempotencyKey!, (byKey.get(q.idempotencyKey!) ?? new Set()).add(q.body.amount!))
  t.ok([...byKey.values()].every((amounts) => amounts.size === 1), `one amount per key: ${JSON.stringify([...byKey].map(([k, v]) => [k, [...v]]))}`)
  const expected = await expectedEarnings(env, row.workspaceId)
  t.ok(byKey.get(`transfer-${row.orderId}-r1`)?.has(String(expected)), 'the new key carries the lowered amount')
  const account = s.accounts[stores.indexOf(store)]!
  t.equal(stripe.transfersTo(account), expected, 'Stripe net: the share net of the refund')
  t.same(await ledgerSums(env, row.workspaceId), { pending: 0, paidOut: expected, platform: 0, total: expected })
  // The double as Stripe: the first answer under a key is replayed; the key with other parameters is refused.
  const first = sent.find((q) => q.idempotencyKey === `transfer-${row.orderId}`)!
  const post = (body: Record<string, string>) => fetch(`${stripe.url}/v1/transfers`, { method: 'POST', headers: { 'idempotency-key': first.idempotencyKey!, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) })
  const replay = await post(first.body)
  t.equal(replay.status, 400)
  t.equal(((await replay.json()) as StripeAnswer).error.code, 'balance_insufficient', 'the refusal is replayed under its key')
  const reused = await post({ ...first.body, amount: '1' })
  t.equal(reused.status, 400)
  t.equal(((await reused.json()) as StripeAnswer).error.type, 'idempotency_error', 'a key reused with another amount is refused')
})
