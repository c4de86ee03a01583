import t, { type Test as Tap } from 'tap'
import { sql } from 'kysely'
import { createUser, login } from '../../helpers/auth.ts'
import { checkout } from '../../helpers/commerce.ts'
import { expectedEarnings, ledgerSums, transfersOf } from '../../helpers/ledger.ts'
import { payAndNotify, paymentEnv, twoStoreCart } from '../../helpers/payments.ts'

// Issue 14 (WP5): the ledger records each sale once when the payment is applied, splits
// refunds on cumulative amounts, holds a vendor's share while its payouts are not enabled (and
// lowers it on a refund, with no reversal), and cannot be rewritten. The balance and ledger
// routes show it to the people who may move the workspace's money.

async function paidTwoStores (t: Tap) {
  const { env, stripe } = await paymentEnv(t)
  const { stores, buyer } = await twoStoreCart(env)
  const res = await checkout(env, buyer)
  t.equal(res.statusCode, 201)
  const checkoutId = res.json().checkoutId as string
  const row = await env.app.db.selectFrom('checkouts').select('paymentIntentId').where('id', '=', checkoutId).executeTakeFirstOrThrow()
  const event = await payAndNotify(env, stripe, row.paymentIntentId!)
  const orders = await env.app.db.selectFrom('orders').select(['id', 'workspaceId']).where('checkoutId', '=', checkoutId).execute()
  const orderOf = (i: number) => orders.find((o) => o.workspaceId === stores[i]!.workspaceId)!.id
  const owner = async (i: number) => login(env.app, (await env.app.db.selectFrom('users').select('email').where('id', '=', stores[i]!.ownerId).executeTakeFirstOrThrow()).email)
  return { env, stripe, stores, checkoutId, event, orderOf, owner, intentId: row.paymentIntentId! }
}

t.test('a paid checkout: one sale per order on the ledger, shares waiting for payouts; a refund before enablement lowers the share, no reversal', async (t) => {
  const { env, stripe, stores, checkoutId, event, orderOf, owner } = await paidTwoStores(t)
  const [a, b] = stores.map((s) => s.workspaceId) as [string, string]
  let transfers = await transfersOf(env, checkoutId)
  t.equal(transfers.length, 2, 'one transfer per order')
  t.same(transfers.map((x) => [x.workspaceId, x.status, x.amount, x.sourceChargeId]).sort(), [[a, 'waiting', 3600, event.data.object.latest_charge], [b, 'waiting', 1350, event.data.object.latest_charge]].sort())
  t.same(await ledgerSums(env, a), { pending: 3600, paidOut: 0, platform: 0, total: 3600 })
  t.same(await ledgerSums(env, null), { pending: 0, paidOut: 0, platform: 550, total: 550 })
  t.equal(stripe.transfers.size, 0, 'nothing is sent while payouts are not enabled')

  const ownerB = await owner(1)
  const refund = await env.app.inject({ method: 'POST', url: `/workspaces/${b}/orders/${orderOf(1)}/refund`, headers: { ...ownerB.headers, 'idempotency-key': 'r1' }, payload: { amount: 500 } })
  t.equal(refund.statusCode, 200, refund.body)
  transfers = await transfersOf(env, checkoutId)
  t.equal(transfers.find((x) => x.workspaceId === b)!.amount, 900, 'the waiting share drops to 1350 − (500 − 50)')
  t.equal((await env.app.db.selectFrom('transferReversals').select('id').execute()).length, 0, 'no reversal of a transfer never made')
  t.same(await ledgerSums(env, b), { pending: 900, paidOut: 0, platform: 0, total: 900 })
  t.equal((await ledgerSums(env, null)).platform, 400 + 150 - 50, 'the platform gave back the refund\'s commission')
  for (const ws of [a, b]) t.equal((await ledgerSums(env, ws)).total, await expectedEarnings(env, ws), 'ledger = orders − refunds − commission')

  const balance = await env.app.inject({ method: 'GET', url: `/workspaces/${b}/balance`, headers: ownerB.headers })
  t.equal(balance.statusCode, 200)
  t.same(balance.json(), {
    items: [{
      currency: 'usd',
      pending: { amount: 900, currency: 'usd' },
      inTransit: { amount: 0, currency: 'usd' },
      paidOut: { amount: 0, currency: 'usd' },
      lifetime: { sales: { amount: 1500, currency: 'usd' }, refunds: { amount: 500, currency: 'usd' }, commission: { amount: 100, currency: 'usd' }, net: { amount: 900, currency: 'usd' } }
    }]
  })

  // Redelivered: the payment is applied once, so nothing is recorded twice.
  const again = await Promise.all(Array.from({ length: 5 }, () => env.app.inject({
    method: 'POST', url: '/payments/webhook', headers: { 'content-type': 'application/json', ...(() => { const s = stripe.signedEvent(event); return { 'stripe-signature': s.signature } })() }, payload: JSON.stringify(event)
  })))
  t.same(again.map((r) => r.statusCode), [200, 200, 200, 200, 200])
  const sales = await env.app.db.selectFrom('ledgerEntries').select('orderId').where('type', '=', 'sale').execute()
  t.equal(sales.length, 2, 'one sale row per order')
  t.equal((await transfersOf(env, checkoutId)).length, 2)
})

t.test('ledger rows cannot be changed or deleted: the database refuses', async (t) => {
  const { env } = await paidTwoStores(t)
  const before = await env.app.db.selectFrom('ledgerEntries').selectAll().orderBy('id').execute()
  t.ok(before.length >= 5)
  await t.rejects(sql`update ledger_entries set amount = amount + 1`.execute(env.app.db), /ledger entries are immutable/)
  await t.rejects(sql`delete from ledger_entries`.execute(env.app.db), /ledger entries are immutable/)
  await t.rejects(sql`truncate ledger_entries`.execute(env.app.db), /ledger entries are immutable/)
  t.same(await env.app.db.selectFrom('ledgerEntries').selectAll().orderBy('id').execute(), before, 'unchanged')
})

t.test('balance and ledger routes: owner and admin see them, a member 403, an outsider 404; paging and filters', async (t) => {
  const { env, stores, orderOf, owner } = await paidTwoStores(t)
  const a = stores[0]!.workspaceId
  const ownerA = await owner(0)
  const admin = await createUser(env, { type: 'vendor' })
  const member = await createUser(env, { type: 'vendor' })
  await env.app.db.insertInto('workspaceMembers').values([{ workspaceId: a, userId: admin.id, role: 'admin' }, { workspaceId: a, userId: member.id, role: 'member' }]).execute()
  const outsider = await owner(1)
  const get = async (who: { headers: Record<string, string> }, url: string) => env.app.inject({ method: 'GET', url, headers: who.headers })
  for (const path of ['balance', 'ledger']) {
    t.equal((await get(ownerA, `/workspaces/${a}/${path}`)).statusCode, 200, `owner: ${path}`)
    t.equal((await get(await login(env.app, admin.email), `/workspaces/${a}/${path}`)).statusCode, 200, `admin: ${path}`)
    t.equal((await get(await login(env.app, member.email), `/workspaces/${a}/${path}`)).statusCode, 403, `member: ${path}`)
    t.equal((await get(outsider, `/workspaces/${a}/${path}`)).statusCode, 404, `non-member: ${path}`)
    t.equal((await env.app.inject({ method: 'GET', url: `/workspaces/${a}/${path}` })).statusCode, 401, `anonymous: ${path}`)
  }

  const page1 = (await get(ownerA, `/workspaces/${a}/ledger?limit=1`)).json()
  t.equal(page1.items.length, 1)
  t.type(page1.nextCursor, 'string')
  const page2 = (await get(ownerA, `/workspaces/${a}/ledger?limit=1&cursor=${page1.nextCursor}`)).json()
  t.same(page2.items.map((i: any) => i.type).concat(page1.items.map((i: any) => i.type)).sort(), ['commission', 'sale'], 'sale and commission, no discount funding (0 is no row)')
  t.equal(page2.nextCursor, null)
  t.same(page1.items.concat(page2.items).map((i: any) => i.amount.amount).sort(), [-400, 4000])
  const sales = (await get(ownerA, `/workspaces/${a}/ledger?type=sale`)).json()
  t.same(sales.items.map((i: any) => [i.type, i.bucket, i.amount, i.orderId]), [['sale', 'pending', { amount: 4000, currency: 'usd' }, orderOf(0)]])
  t.same((await get(ownerA, `/workspaces/${a}/ledger?currency=eur`)).json().items, [])

  const bad = await get(ownerA, `/workspaces/${a}/ledger?type=gift`)
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { code: 'VALIDATION_FAILED' })
  t.match(JSON.stringify(bad.json()), /type/, 'names the field')
  const forged = await get(ownerA, `/workspaces/${a}/ledger?cursor=bm9wZQ`)
  t.equal(forged.statusCode, 400)
  t.match(forged.json(), { code: 'VALIDATION_FAILED' })
})

t.test('admin commission totals and transfers list; others may not', async (t) => {
  const { env, owner } = await paidTwoStores(t)
  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  const commission = await env.app.inject({ method: 'GET', url: '/admin/commission', headers: admin.headers })
  t.equal(commission.statusCode, 200)
  t.same(commission.json(), { items: [{ currency: 'usd', commission: { amount: 550, currency: 'usd' }, commissionReturned: { amount: 0, currency: 'usd' }, discountFunding: { amount: 0, currency: 'usd' }, net: { amount: 550, currency: 'usd' } }] })
  const future = await env.app.inject({ method: 'GET', url: '/admin/commission?from=2999-01-01T00:00:00Z', headers: admin.headers })
  t.same(future.json(), { items: [] })
  t.equal((await env.app.inject({ method: 'GET', url: '/admin/commission?from=yesterday', headers: admin.headers })).statusCode, 400)
  const waiting = await env.app.inject({ method: 'GET', url: '/admin/transfers?status=waiting', headers: admin.headers })
  t.equal(waiting.statusCode, 200)
  t.equal(waiting.json().items.length, 2)
  t.same((await env.app.inject({ method: 'GET', url: '/admin/transfers?status=failed', headers: admin.headers })).json().items, [])
  const vendor = await owner(0)
  t.equal((await env.app.inject({ method: 'GET', url: '/admin/commission', headers: vendor.headers })).statusCode, 403)
  t.equal((await env.app.inject({ method: 'GET', url: '/admin/transfers', headers: vendor.headers })).statusCode, 403)
})
