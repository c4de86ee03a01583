import t from 'tap'
import { eventually } from '../../helpers/eventually.ts'
import { expectedEarnings, ledgerSums, transfersOf } from '../../helpers/ledger.ts'
import { paidRows, refund, scene, signedDelivery } from '../../helpers/ledger-scene.ts'

// Issue 14, review 2 finding 3: a transfer the provider refused for good (`failed`) was never
// made, so refunds lower it like a waiting one; an operator re-queues it with
// POST /admin/transfers/:id/retry (a new key, what is owed now). Failed reversals are listed
// by GET /admin/reversals?status=failed.

t.test('a failed transfer is lowered by a refund; an admin retries it: queued under a new key, paid what is owed; 404 unknown, 409 not failed, 403 not an admin', async (t) => {
  const s = await scene(t)
  const { env, stripe, checkoutId, stores, admin } = s
  stripe.refuseNext('POST', '/v1/transfers', { status: 400, code: 'transfers_not_allowed' })
  await signedDelivery(s, stripe.pay(s.intentId))
  const failed = await eventually(async () => (await transfersOf(env, checkoutId)).find((r) => r.status === 'failed') ?? null, 20000)
  const i = stores.findIndex((x) => x.workspaceId === failed.workspaceId)
  t.equal((await refund(env, stores[i]!, failed.orderId, 500, 'f3-1')).statusCode, 200)
  const expected = await expectedEarnings(env, failed.workspaceId)
  t.equal((await transfersOf(env, checkoutId)).find((x) => x.id === failed.id)!.amount, expected, 'a failed transfer (never made) is lowered like a waiting one')
  const other = (await paidRows(env, checkoutId, 1)).find((r) => r.status === 'paid')!
  const retry = (id: string, headers = admin.headers) => env.app.inject({ method: 'POST', url: `/admin/transfers/${id}/retry`, headers })
  t.equal((await retry('01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9eb0')).statusCode, 404)
  t.equal((await retry(other.id)).statusCode, 409, 'a paid transfer is not retried')
  t.equal((await retry(failed.id, stores[i]!.owner.headers)).statusCode, 403)
  const res = await retry(failed.id)
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { id: failed.id, status: 'queued', amount: { amount: expected } })
  t.equal((await retry(failed.id)).statusCode, 409, 'no longer failed')
  await paidRows(env, checkoutId, 2)
  const keys = stripe.requests.filter((q) => q.method === 'POST' && q.path === '/v1/transfers' && q.body['metadata[orderId]'] === failed.orderId).map((q) => [q.idempotencyKey, q.body.amount])
  t.same(keys, [[`transfer-${failed.orderId}`, String(failed.amount)], [`transfer-${failed.orderId}-r2`, String(expected)]], 'the retry goes under a new key with what is owed now')
  t.equal(stripe.transfersTo(s.accounts[i]!), expected)
  t.same(await ledgerSums(env, failed.workspaceId), { pending: 0, paidOut: expected, platform: 0, total: expected })
})

t.test('a reversal Stripe refuses is listed by GET /admin/reversals?status=failed (platform admins)', async (t) => {
  const s = await scene(t)
  const { env, stripe, checkoutId, stores, admin } = s
  await signedDelivery(s, stripe.pay(s.intentId))
  await paidRows(env, checkoutId, 2)
  stripe.refuseNext('POST', '/v1/transfers/', { status: 400, code: 'insufficient_funds' })
  const b = s.orderOf(1)
  t.equal((await refund(env, stores[1]!, b.id, 500, 'f3-2')).statusCode, 200)
  await eventually(async () => (await env.app.db.selectFrom('transferReversals').select('status').where('status', '=', 'failed').execute()).length === 1 ? true : null, 20000)
  const res = await env.app.inject({ method: 'GET', url: '/admin/reversals?status=failed', headers: admin.headers })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { items: [{ workspaceId: stores[1]!.workspaceId, orderId: b.id, amount: { amount: 437, currency: 'usd' }, status: 'failed', lastError: /^insufficient_funds/ }], nextCursor: null })
  t.equal((await env.app.inject({ method: 'GET', url: '/admin/reversals?status=paid', headers: admin.headers })).json().items.length, 0)
  t.equal((await env.app.inject({ method: 'GET', url: '/admin/reversals', headers: stores[1]!.owner.headers })).statusCode, 403)
  t.equal((await env.app.inject({ method: 'GET', url: '/admin/reversals?status=nope', headers: admin.headers })).statusCode, 400)
})
