import { randomUUID } from 'node:crypto'
import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { createUser, login, type SignedIn } from '../../helpers/auth.ts'
import { addToCart, approvedStore, checkout, createProduct, shopper, type Store } from '../../helpers/commerce.ts'
import { twoStoreCart } from '../../helpers/payments.ts'

// Commission settings (issue 14): a platform admin overrides a workspace's commission (or
// resets it to PLATFORM_COMMISSION_BPS); checkout prices new orders with it and freezes it on
// them, so a later change never alters a placed order.

async function admin (env: TestEnv): Promise<SignedIn> {
  return login(env.app, (await createUser(env, { type: 'admin' })).email)
}

function setCommission (env: TestEnv, who: SignedIn | null, workspaceId: string, payload: unknown) {
  return env.app.inject({ method: 'PUT', url: `/admin/workspaces/${workspaceId}/commission`, headers: who?.headers ?? {}, payload: payload as never })
}

const payouts = (env: TestEnv, store: Store) =>
  env.app.inject({ method: 'GET', url: `/workspaces/${store.workspaceId}/payouts`, headers: store.owner.headers })

async function ordersOfCheckout (env: TestEnv, checkoutId: string) {
  return env.app.db.selectFrom('orders').select(['workspaceId', 'commissionBps', 'commissionAmount', 'totalAmount']).where('checkoutId', '=', checkoutId).execute()
}

t.test('an admin overrides a workspace\'s commission and resets it', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const boss = await admin(env)

  const set = await setCommission(env, boss, store.workspaceId, { commissionBps: 1250 })
  t.equal(set.statusCode, 200, set.body)
  t.match(set.json(), { status: 'not_started', accountId: null, commissionBps: 1250, commissionSource: 'override' })
  t.match((await payouts(env, store)).json(), { commissionBps: 1250, commissionSource: 'override' }, 'the owner sees it')
  const row = await env.app.db.selectFrom('payoutAccounts').select(['commissionBps', 'commissionSetBy', 'stripeAccountId', 'status']).executeTakeFirstOrThrow()
  t.same(row, { commissionBps: 1250, commissionSetBy: (await env.app.db.selectFrom('users').select('id').where('type', '=', 'admin').executeTakeFirstOrThrow()).id, stripeAccountId: null, status: 'not_started' }, 'who set it is kept')

  t.match((await setCommission(env, boss, store.workspaceId, { commissionBps: 0 })).json(), { commissionBps: 0, commissionSource: 'override' }, 'zero is an override too')
  const reset = await setCommission(env, boss, store.workspaceId, { commissionBps: null })
  t.equal(reset.statusCode, 200)
  t.match(reset.json(), { commissionBps: 1000, commissionSource: 'default' }, 'null returns it to PLATFORM_COMMISSION_BPS')
  t.match((await payouts(env, store)).json(), { commissionBps: 1000, commissionSource: 'default' })
})

t.test('only platform admins; bad values are 400 naming the field and change nothing; unknown or deleted workspaces 404', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const boss = await admin(env)
  t.equal((await setCommission(env, boss, store.workspaceId, { commissionBps: 1500 })).statusCode, 200)

  const asOwner = await setCommission(env, store.owner, store.workspaceId, { commissionBps: 0 })
  t.equal(asOwner.statusCode, 403, 'the workspace\'s own owner may not lower it')
  t.equal((await setCommission(env, null, store.workspaceId, { commissionBps: 0 })).statusCode, 401)

  for (const payload of [{ commissionBps: 10001 }, { commissionBps: -1 }, { commissionBps: 12.5 }, { commissionBps: '1250' }, {}, { commissionBps: 1250, note: 'x' }]) {
    const res = await setCommission(env, boss, store.workspaceId, payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.equal(res.json().code, 'VALIDATION_FAILED')
    t.ok(res.json().errors.some((e: { pointer: string }) => e.pointer.startsWith('/body')), `${JSON.stringify(payload)}: names ${res.json().errors.map((e: { pointer: string }) => e.pointer).join()}`)
  }
  const tooHigh = await setCommission(env, boss, store.workspaceId, { commissionBps: 10001 })
  t.ok(tooHigh.json().errors.some((e: { pointer: string }) => e.pointer === '/body/commissionBps'), 'the field is named')
  t.match((await payouts(env, store)).json(), { commissionBps: 1500, commissionSource: 'override' }, 'nothing changed')

  t.equal((await setCommission(env, boss, randomUUID(), { commissionBps: 100 })).statusCode, 404)
  t.equal((await setCommission(env, boss, 'nope', { commissionBps: 100 })).statusCode, 400)
  const gone = await approvedStore(env)
  await env.app.db.updateTable('workspaces').set({ deletedAt: new Date() }).where('id', '=', gone.workspaceId).execute()
  t.equal((await setCommission(env, boss, gone.workspaceId, { commissionBps: 100 })).statusCode, 404, 'a deleted workspace')
  t.equal((await env.app.db.selectFrom('payoutAccounts').select('workspaceId').execute()).length, 1, 'no row for either')
})

t.test('checkout uses the override; orders placed before a change keep their commission', async (t) => {
  const env = await createTestEnv(t)
  const boss = await admin(env)
  const { stores, buyer, products } = await twoStoreCart(env)
  const [a, b] = stores as [Store, Store]
  t.equal((await setCommission(env, boss, b.workspaceId, { commissionBps: 1250 })).statusCode, 200)

  // Example D of the plan: A 2 × 2000 at the default 10 % → 400; B 1500 at 12.5 % = 187.5 → 188.
  const first = await checkout(env, buyer)
  t.equal(first.statusCode, 201, first.body)
  const placed = await ordersOfCheckout(env, first.json().checkoutId)
  const byStore = (rows: typeof placed, store: Store) => rows.find((o) => o.workspaceId === store.workspaceId)!
  t.match(byStore(placed, a), { commissionBps: 1000, commissionAmount: 400, totalAmount: 4000 })
  t.match(byStore(placed, b), { commissionBps: 1250, commissionAmount: 188, totalAmount: 1500 })

  // The rate changes (and A gets one): the placed orders keep theirs.
  t.equal((await setCommission(env, boss, b.workspaceId, { commissionBps: 2000 })).statusCode, 200)
  t.equal((await setCommission(env, boss, a.workspaceId, { commissionBps: 500 })).statusCode, 200)
  t.same(await ordersOfCheckout(env, first.json().checkoutId), placed, 'placed orders unchanged')
  const view = await env.app.inject({ method: 'GET', url: `/workspaces/${b.workspaceId}/orders/${first.json().orders.find((o: { workspaceId: string }) => o.workspaceId === b.workspaceId).id}`, headers: b.owner.headers })
  t.match(view.json(), { commissionBps: 1250, commission: { amount: 188 }, net: { amount: 1500 - 188 } }, 'the vendor\'s view shows the rate of its checkout')

  // A new checkout is priced with the new rates.
  await addToCart(env, buyer, products[0].variants[0].id, 2)
  await addToCart(env, buyer, products[1].variants[0].id, 1)
  const second = await checkout(env, buyer)
  t.equal(second.statusCode, 201, second.body)
  const next = await ordersOfCheckout(env, second.json().checkoutId)
  t.match(byStore(next, a), { commissionBps: 500, commissionAmount: 200 })
  t.match(byStore(next, b), { commissionBps: 2000, commissionAmount: 300 })

  // Reset: back to the default for the next one.
  t.equal((await setCommission(env, boss, b.workspaceId, { commissionBps: null })).statusCode, 200)
  await addToCart(env, buyer, products[1].variants[0].id, 1)
  const third = await checkout(env, buyer)
  t.match((await ordersOfCheckout(env, third.json().checkoutId))[0], { workspaceId: b.workspaceId, commissionBps: 1000, commissionAmount: 150 })
})

t.test('PLATFORM_COMMISSION_BPS is the default; the cart\'s summary is unaffected by commission', async (t) => {
  const env = await createTestEnv(t, { config: { payments: { commissionBps: 750, connectAccountCountry: undefined } } })
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { price: 1999 })
  const buyer = await shopper(env)
  await addToCart(env, buyer, product.variants[0].id, 1)
  const res = await checkout(env, buyer)
  t.equal(res.statusCode, 201)
  // 1999 × 7.5 % = 149.925 → 150 (half up).
  t.match((await ordersOfCheckout(env, res.json().checkoutId))[0], { commissionBps: 750, commissionAmount: 150 })
  t.match((await payouts(env, store)).json(), { commissionBps: 750, commissionSource: 'default' })
})

t.test('concurrent admin changes: one row, the last write wins whole', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const boss = await admin(env)
  const values = [100, 200, 300, 400, 500, 600, 700, 800, null, 900]
  const results = await Promise.all(values.map((v) => setCommission(env, boss, store.workspaceId, { commissionBps: v })))
  t.ok(results.every((r) => r.statusCode === 200), results.map((r) => r.statusCode).join())
  const rows = await env.app.db.selectFrom('payoutAccounts').select(['commissionBps']).execute()
  t.equal(rows.length, 1, 'one row')
  t.ok(values.includes(rows[0]!.commissionBps), `a value that was sent (${rows[0]!.commissionBps})`)
  t.match((await payouts(env, store)).json(), { commissionBps: rows[0]!.commissionBps ?? 1000 })
})
