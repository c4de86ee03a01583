import t from 'tap'
import { addToCart, checkout, createProduct, shopper } from '../../helpers/commerce.ts'
import { eventually } from '../../helpers/eventually.ts'
import { expectedEarnings, ledgerSums, transfersOf } from '../../helpers/ledger.ts'
import { paidRows, refund, scene, signedDelivery } from '../../helpers/ledger-scene.ts'
import { deliverConnect, onboard, startOnboarding } from '../../helpers/payouts.ts'

// Issue 14 (WP5, plan §7.6): vendor transfers through Stripe Connect, exactly once. Example D:
// store A sells 2 × 2000 at the default 10 % (transfer 3600), store B 1 × 1500 at 12.5 %
// (commission 187.5 → 188, transfer 1312). The worker runs in process (outbox + payouts).

t.test('a two-vendor checkout paid → one transfer per order, the right amounts, grouped by checkout, from its charge; redelivered webhooks make no second one', async (t) => {
  const s = await scene(t)
  const { env, stripe, checkoutId, accounts } = s
  t.equal(s.orderOf(0).commissionAmount, 400)
  t.equal(s.orderOf(1).commissionAmount, 188, '1500 at 12.5 % = 187.5, half up')
  const paid = stripe.pay(s.intentId)
  // Delivered ten times at once, and account.updated of both vendors ten times too.
  const deliveries = await Promise.all([
    ...Array.from({ length: 10 }, () => signedDelivery(s, paid)),
    ...accounts.flatMap((a) => Array.from({ length: 10 }, () => deliverConnect(env, stripe, stripe.completeOnboarding(a!))))
  ])
  t.ok(deliveries.every((r) => r.statusCode === 200), 'every delivery answered 200')
  const rows = await paidRows(env, checkoutId, 2)
  const charge = stripe.intents.get(s.intentId)!.latest_charge
  const made = [...stripe.transfers.values()]
  t.equal(made.length, 2, 'exactly two transfers at Stripe')
  t.same(made.map((x) => [x.destination, x.amount, x.currency, x.transfer_group, x.source_transaction]).sort(), [
    [accounts[0], 3600, 'usd', `checkout_${checkoutId}`, charge],
    [accounts[1], 1312, 'usd', `checkout_${checkoutId}`, charge]
  ].sort())
  const keys = stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/transfers').map((r) => r.idempotencyKey)
  t.same([...new Set(keys)].sort(), [`transfer-${s.orderOf(0).id}`, `transfer-${s.orderOf(1).id}`].sort(), 'keys name the orders')
  t.same(rows.map((r) => [r.status, r.amount, r.stripeTransferId]).sort(), made.map((x) => ['paid', x.amount, x.id]).sort())
  t.equal((await env.app.db.selectFrom('ledgerEntries').select('id').where('type', '=', 'sale').execute()).length, 2, 'one sale row per order')
  t.equal((await env.app.db.selectFrom('ledgerEntries').select('id').where('type', '=', 'transfer').execute()).length, 4, 'one transfer pair per transfer')
  t.same(await ledgerSums(env, s.stores[0]!.workspaceId), { pending: 0, paidOut: 3600, platform: 0, total: 3600 })
  t.same(await ledgerSums(env, s.stores[1]!.workspaceId), { pending: 0, paidOut: 1312, platform: 0, total: 1312 })
  t.equal(stripe.transfersTo(accounts[0]!), 3600)
})

t.test('a partial refund → a proportional reversal; a full refund reverses the rest, never more than transferred; ledger = orders − refunds − commission', async (t) => {
  const s = await scene(t)
  const { env, stripe, checkoutId, stores, accounts } = s
  await signedDelivery(s, stripe.pay(s.intentId))
  await paidRows(env, checkoutId, 2)
  const b = s.orderOf(1).id
  t.equal((await refund(env, stores[1]!, b, 500, 'b-500')).statusCode, 200)
  await eventually(() => stripe.reversals.length === 1, 20000)
  t.equal(stripe.reversals[0]!.amount, 437, 'vendor part of 500: 500 − 63')
  const transferB = [...stripe.transfers.values()].find((x) => x.destination === accounts[1])!
  await eventually(async () => (await env.app.db.selectFrom('transferReversals').select('status').where('status', '=', 'paid').execute()).length === 1)
  t.equal(transferB.amount_reversed, 437)

  // Example D: A pending 0, paid 3600; B pending 0, paid 875; platform 400 + 188 − 63 = 525.
  t.same(await ledgerSums(env, stores[0]!.workspaceId), { pending: 0, paidOut: 3600, platform: 0, total: 3600 })
  t.same(await ledgerSums(env, stores[1]!.workspaceId), { pending: 0, paidOut: 875, platform: 0, total: 875 })
  t.equal((await ledgerSums(env, null)).platform, 525)
  for (const st of stores) t.equal((await ledgerSums(env, st.workspaceId)).total, await expectedEarnings(env, st.workspaceId), 'ledger = orders − refunds − commission (SQL)')
  const balance = await env.app.inject({ method: 'GET', url: `/workspaces/${stores[1]!.workspaceId}/balance`, headers: stores[1]!.owner.headers })
  t.match(balance.json().items[0], { pending: { amount: 0 }, inTransit: { amount: 0 }, paidOut: { amount: 875 }, lifetime: { sales: { amount: 1500 }, refunds: { amount: 500 }, commission: { amount: 125 }, net: { amount: 875 } } })

  t.equal((await refund(env, stores[1]!, b, 1000, 'b-rest')).statusCode, 200)
  await eventually(() => stripe.reversals.length === 2, 20000)
  t.equal(stripe.reversals[1]!.amount, 875, 'the rest of the transfer, no more')
  t.equal(transferB.amount_reversed, 1312, 'all of it reversed, never above')
  await eventually(async () => (await ledgerSums(env, stores[1]!.workspaceId)).paidOut === 0)
  t.same(await ledgerSums(env, stores[1]!.workspaceId), { pending: 0, paidOut: 0, platform: 0, total: 0 })

  // Five concurrent refunds on A's order: Σ reversals ≤ the transfer, at Stripe and here.
  const a = s.orderOf(0).id
  const results = await Promise.all([1, 2, 3, 4, 5].map((i) => refund(env, stores[0]!, a, 1000, `a-${i}`)))
  t.equal(results.filter((r) => r.statusCode === 200).length, 4, 'four fit in 4000')
  await eventually(async () => (await env.app.db.selectFrom('transferReversals').select('id').where('status', '=', 'pending').execute()).length === 0, 20000)
  const transferA = [...stripe.transfers.values()].find((x) => x.destination === accounts[0])!
  t.equal(transferA.amount_reversed, 3600, 'a full refund reverses all 3600')
  const dbReversed = await env.app.db.selectFrom('transferReversals').select((eb) => eb.fn.sum<string>('amount').as('s')).where('transferId', '=', (await transfersOf(env, checkoutId)).find((r) => r.workspaceId === stores[0]!.workspaceId)!.id).executeTakeFirstOrThrow()
  t.equal(Number(dbReversed.s), 3600)
  for (const st of stores) t.equal((await ledgerSums(env, st.workspaceId)).total, await expectedEarnings(env, st.workspaceId))
})

t.test('a vendor without payouts keeps its share waiting; a refund lowers it; account.updated enabling it makes one transfer', async (t) => {
  const s = await scene(t, { enableB: false })
  const { env, stripe, checkoutId, stores } = s
  await signedDelivery(s, stripe.pay(s.intentId))
  await eventually(async () => (await transfersOf(env, checkoutId)).find((r) => r.workspaceId === stores[0]!.workspaceId)?.status === 'paid', 20000)
  const waiting = (await transfersOf(env, checkoutId)).find((r) => r.workspaceId === stores[1]!.workspaceId)!
  t.match(waiting, { status: 'waiting', amount: 1312 })
  const balance = await env.app.inject({ method: 'GET', url: `/workspaces/${stores[1]!.workspaceId}/balance`, headers: stores[1]!.owner.headers })
  t.equal(balance.json().items[0].pending.amount, 1312)
  t.equal((await refund(env, stores[1]!, s.orderOf(1).id, 500, 'before-enable')).statusCode, 200)
  t.match((await transfersOf(env, checkoutId)).find((r) => r.workspaceId === stores[1]!.workspaceId), { status: 'waiting', amount: 875 })
  t.equal(stripe.reversals.length, 0)
  const account = await onboard(env, stripe, stores[1]!)
  // Redelivered enabling events change nothing more.
  await Promise.all(Array.from({ length: 5 }, () => deliverConnect(env, stripe, stripe.completeOnboarding(account))))
  await paidRows(env, checkoutId, 2)
  const toB = [...stripe.transfers.values()].filter((x) => x.destination === account)
  t.equal(toB.length, 1)
  t.equal(toB[0]!.amount, 875)
  t.same(await ledgerSums(env, stores[1]!.workspaceId), { pending: 0, paidOut: 875, platform: 0, total: 875 })
})

t.test('Stripe failing: an outage is retried, a dropped answer replays the same transfer', async (t) => {
  const s = await scene(t)
  const { env, stripe, checkoutId } = s
  let outages = 0
  stripe.unavailable = (method, path) => method === 'POST' && path === '/v1/transfers' && outages++ < 2
  stripe.dropResponses((method, path) => method === 'POST' && path === '/v1/transfers', 1)
  await signedDelivery(s, stripe.pay(s.intentId))
  await paidRows(env, checkoutId, 2)
  t.equal(stripe.transfers.size, 2, 'one transfer per order despite outages and a lost answer')
  t.ok(outages >= 2, 'two attempts met the outage')
  const keys = stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/transfers').map((r) => r.idempotencyKey)
  t.ok(keys.length >= 5, 'retried: outages, the dropped answer and its SDK retry')
  t.equal(new Set(keys).size, 2, 'always the same key per order')
  stripe.unavailable = null
})

t.test('a transfer refused for the account\'s capability waits, then goes with a new key once released (the sweep)', async (t) => {
  const s = await scene(t)
  const { env, stripe, checkoutId } = s
  stripe.refuseNext('POST', '/v1/transfers', { status: 400, code: 'insufficient_capabilities_for_transfer' })
  await signedDelivery(s, stripe.pay(s.intentId))
  const refused = await eventually(async () => (await transfersOf(env, checkoutId)).find((r) => r.status === 'waiting'), 20000)
  t.match(refused, { refusals: 1, lastError: 'insufficient_capabilities_for_transfer' })
  await eventually(async () => (await transfersOf(env, checkoutId)).filter((r) => r.status === 'paid').length === 1, 20000)
  await env.app.queues.payouts.add('sweep', {})
  await paidRows(env, checkoutId, 2)
  t.equal(stripe.transfers.size, 2, 'one transfer per order')
  const keys = stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/transfers').map((r) => r.idempotencyKey)
  t.ok(keys.includes(`transfer-${refused.orderId}-r1`), 'the try after a refusal uses a new key')
})

t.test('a refund while the transfer is in flight: the amount stays frozen, the reversal waits for the transfer and then takes back the vendor part', async (t) => {
  const s = await scene(t)
  const { env, stripe, checkoutId, stores, accounts } = s
  const hold = stripe.holdResponses((method, path) => method === 'POST' && path === '/v1/transfers')
  await signedDelivery(s, stripe.pay(s.intentId))
  await eventually(() => hold.held() === 2, 20000)
  t.same((await transfersOf(env, checkoutId)).map((r) => r.status), ['in_flight', 'in_flight'])
  // Two refunds of B's order at once, while its transfer is being made.
  const [r1, r2] = await Promise.all([refund(env, stores[1]!, s.orderOf(1).id, 500, 'fly-1'), refund(env, stores[1]!, s.orderOf(1).id, 300, 'fly-2')])
  t.same([r1.statusCode, r2.statusCode], [200, 200])
  const rowB = (await transfersOf(env, checkoutId)).find((r) => r.workspaceId === stores[1]!.workspaceId)!
  t.match(rowB, { status: 'in_flight', amount: 1312 }, 'the claimed amount is frozen: refunds become reversals')
  const pending = await env.app.db.selectFrom('transferReversals').select(['amount', 'status']).where('transferId', '=', rowB.id).execute()
  t.same(pending.map((r) => r.status), ['pending', 'pending'])
  hold.release()
  await eventually(async () => (await env.app.db.selectFrom('transferReversals').select('id').where('status', '=', 'paid').execute()).length === 2, 30000)
  const transferB = [...stripe.transfers.values()].find((x) => x.destination === accounts[1])!
  // Cumulative 800: Cr = round(800 × 188 / 1500) = 100, vendor part 700.
  t.equal(transferB.amount_reversed, 700)
  t.equal(stripe.reversals.reduce((sum, r) => sum + r.amount, 0), 700)
  t.same(await ledgerSums(env, stores[1]!.workspaceId), { pending: 0, paidOut: 612, platform: 0, total: 612 })
  t.equal((await ledgerSums(env, stores[1]!.workspaceId)).total, await expectedEarnings(env, stores[1]!.workspaceId))
})

t.test('a vendor whose account is restricted again: its new share waits, and goes once Stripe enables it again', async (t) => {
  const s = await scene(t)
  const { env, stripe, checkoutId, stores, accounts } = s
  t.equal((await deliverConnect(env, stripe, stripe.restrictAccount(accounts[1]!))).statusCode, 200)
  await signedDelivery(s, stripe.pay(s.intentId))
  await eventually(async () => (await transfersOf(env, checkoutId)).find((r) => r.workspaceId === stores[0]!.workspaceId)?.status === 'paid', 20000)
  t.match((await transfersOf(env, checkoutId)).find((r) => r.workspaceId === stores[1]!.workspaceId), { status: 'waiting', amount: 1312, attempts: 0 }, 'never sent to a restricted account')
  t.equal([...stripe.transfers.values()].filter((x) => x.destination === accounts[1]).length, 0)
  t.equal((await deliverConnect(env, stripe, stripe.completeOnboarding(accounts[1]!))).statusCode, 200)
  await paidRows(env, checkoutId, 2)
  t.equal([...stripe.transfers.values()].filter((x) => x.destination === accounts[1]).length, 1)
})

t.test('two currencies: each has its own transfer, ledger sums and balance line', async (t) => {
  const s = await scene(t)
  const { env, stripe, checkoutId, stores, accounts } = s
  await signedDelivery(s, stripe.pay(s.intentId))
  await paidRows(env, checkoutId, 2)
  // Store A also sells in euros: a second customer's checkout, in eur.
  const eurProduct = await createProduct(env, stores[0]!, { price: 1000, currency: 'eur', variants: [{ stock: 5 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, eurProduct.variants[0].id, 3)
  const res = await checkout(env, buyer)
  t.equal(res.statusCode, 201, res.body)
  const eurCheckout = res.json().checkoutId as string
  const eurIntent = (await env.app.db.selectFrom('checkouts').select('paymentIntentId').where('id', '=', eurCheckout).executeTakeFirstOrThrow()).paymentIntentId!
  await signedDelivery(s, stripe.pay(eurIntent))
  await paidRows(env, eurCheckout, 1)
  const eur = [...stripe.transfers.values()].filter((x) => x.currency === 'eur')
  t.same(eur.map((x) => [x.destination, x.amount]), [[accounts[0], 2700]], '3000 eur less 10 %')
  t.same(await ledgerSums(env, stores[0]!.workspaceId, 'eur'), { pending: 0, paidOut: 2700, platform: 0, total: 2700 })
  t.same(await ledgerSums(env, stores[0]!.workspaceId, 'usd'), { pending: 0, paidOut: 3600, platform: 0, total: 3600 })
  t.equal((await ledgerSums(env, null, 'eur')).platform, 300)
  for (const currency of ['eur', 'usd']) t.equal((await ledgerSums(env, stores[0]!.workspaceId, currency)).total, await expectedEarnings(env, stores[0]!.workspaceId, currency), currency)
  const balance = await env.app.inject({ method: 'GET', url: `/workspaces/${stores[0]!.workspaceId}/balance`, headers: stores[0]!.owner.headers })
  t.same(balance.json().items.map((i: any) => [i.currency, i.paidOut.amount, i.lifetime.sales.amount]), [['eur', 2700, 3000], ['usd', 3600, 4000]])
  const eurOnly = await env.app.inject({ method: 'GET', url: `/workspaces/${stores[0]!.workspaceId}/ledger?currency=eur`, headers: stores[0]!.owner.headers })
  t.ok(eurOnly.json().items.length > 0 && eurOnly.json().items.every((i: any) => i.amount.currency === 'eur'))
})

// A release over many rows never waits on one another transaction holds (a refund lowering it,
// under its checkout's locks, may be about to lock another row this release took: a deadlock).
// The held row is skipped, and the sweep releases it once it is free.
t.test('enabling a vendor skips a waiting transfer another transaction holds; the sweep releases it after', async (t) => {
  const s = await scene(t, { enableB: false })
  const { env, stripe, checkoutId, stores } = s
  await signedDelivery(s, stripe.pay(s.intentId))
  const rowB = async () => (await transfersOf(env, checkoutId)).find((r) => r.workspaceId === stores[1]!.workspaceId)!
  await eventually(async () => (await rowB()).status === 'waiting', 20000)
  const started = await startOnboarding(env, stores[1]!)
  t.equal(started.statusCode, 200, started.body)
  const account = started.json().accountId as string
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  let locked!: () => void
  const isLocked = new Promise<void>((resolve) => { locked = resolve })
  const holder = env.app.db.transaction().execute(async (trx) => {
    await trx.selectFrom('vendorTransfers').select('id').where('id', '=', (await rowB()).id).forUpdate().execute()
    locked()
    await released
  })
  await isLocked
  const delivered = deliverConnect(env, stripe, stripe.completeOnboarding(account))
  const outcome = await Promise.race([delivered.then((res) => res.statusCode), new Promise((resolve) => setTimeout(() => resolve('blocked'), 5000))])
  t.equal(outcome, 200, 'account.updated is applied without waiting on the held row')
  t.equal((await rowB()).status, 'waiting', 'the held transfer is left waiting')
  release()
  await holder
  await env.app.deps.queues.payouts.add('sweep', {})
  await paidRows(env, checkoutId, 2)
  t.equal([...stripe.transfers.values()].filter((x) => x.destination === account).length, 1, 'then one transfer, by the sweep')
})
