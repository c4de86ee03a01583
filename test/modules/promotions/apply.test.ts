import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { addToCart, applyCode, approvedStore, checkout, createProduct, createPromotion, platformAdmin, shopper, type Shopper, type Store } from '../../helpers/commerce.ts'

// A cart's code (plan §4 WP2, §3.1): applied and removed, refused with the reason pricing gives,
// priced into the cart's summaries and checkout's orders (split over orders by covered subtotal,
// then over lines), and checked again at checkout.

const usd = (amount: number) => ({ amount, currency: 'usd' })
const cartOf = (env: TestEnv, who: Shopper) => env.app.inject({ method: 'GET', url: '/cart', headers: who.session.headers })
const held = async (env: TestEnv, who: Shopper) => (await env.app.db.selectFrom('cartPromotions').select('promotionId').where('userId', '=', who.id).executeTakeFirst())?.promotionId ?? null

/** The reference cart of plan §3.6 A: store A 2×2000 + 1×1500 (5500), store B 3×1333 (3999). */
async function referenceCart (env: TestEnv) {
  const a = await approvedStore(env)
  const b = await approvedStore(env)
  const a1 = await createProduct(env, a, { price: 2000, variants: [{ stock: 10 }] })
  const a2 = await createProduct(env, a, { price: 1500, variants: [{ stock: 10 }] })
  const b1 = await createProduct(env, b, { price: 1333, variants: [{ stock: 10 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, a1.variants[0].id, 2)
  await addToCart(env, buyer, a2.variants[0].id, 1)
  await addToCart(env, buyer, b1.variants[0].id, 3)
  return { a, b, buyer, variants: [a1.variants[0].id, a2.variants[0].id, b1.variants[0].id] as string[] }
}

async function oneLineCart (env: TestEnv, price = 2000, store?: Store) {
  const s = store ?? await approvedStore(env)
  const product = await createProduct(env, s, { price, variants: [{ stock: 10 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, product.variants[0].id)
  return { store: s, buyer, variantId: product.variants[0].id as string }
}

t.test('apply and remove: the cart answers with the code priced in its summary', async (t) => {
  const env = await createTestEnv(t)
  const { buyer } = await oneLineCart(env)
  const promotion = await createPromotion(env, 'platform', { code: 'Spring-15', percentBps: 1500, fundedBy: 'vendor' })
  const applied = await applyCode(env, buyer, 'spring-15')
  t.equal(applied.statusCode, 200)
  const summary = applied.json().summaries[0]
  t.same(summary.promotion, { code: 'Spring-15', discount: usd(300), fundedBy: 'vendor', applicable: true }, 'the code as created, its discount, who funds it')
  t.same([summary.subtotal, summary.discount, summary.total], [usd(2000), usd(300), usd(1700)])
  t.equal(await held(env, buyer), promotion.id)
  t.same((await cartOf(env, buyer)).json().summaries, applied.json().summaries, 'GET /cart shows the same')
  const more = await addToCart(env, buyer, applied.json().items[0].variantId)
  t.same([more.json().summaries[0].discount, more.json().summaries[0].promotion.discount], [usd(600), usd(600)], 'an add answers with the code priced too')

  const removed = await env.app.inject({ method: 'DELETE', url: '/cart/promotion', headers: buyer.session.headers })
  t.equal(removed.statusCode, 200)
  t.equal(removed.json().summaries[0].promotion, null)
  t.same(removed.json().summaries[0].total, usd(4000))
  t.equal(await held(env, buyer), null)
  const again = await env.app.inject({ method: 'DELETE', url: '/cart/promotion', headers: buyer.session.headers })
  t.equal(again.statusCode, 200, 'removing from a cart without a code is fine')
  const anonymous = await env.app.inject({ method: 'POST', url: '/cart/promotion', payload: { code: 'SPRING-15' } })
  t.equal(anonymous.statusCode, 401)
})

t.test('unknown, inactive, deleted and out-of-window codes are one 404; the cart keeps what it held', async (t) => {
  const env = await createTestEnv(t)
  const { store, buyer } = await oneLineCart(env)
  const kept = await createPromotion(env, 'platform', { code: 'KEPT' })
  t.equal((await applyCode(env, buyer, 'KEPT')).statusCode, 200)
  const admin = await platformAdmin(env)
  const off = await createPromotion(env, 'platform', { code: 'OFFNOW' })
  t.equal((await env.app.inject({ method: 'PATCH', url: `/admin/promotions/${off.id}`, headers: admin.headers, payload: { isActive: false } })).statusCode, 200)
  const gone = await createPromotion(env, store, { code: 'GONE' })
  t.equal((await env.app.inject({ method: 'DELETE', url: `/workspaces/${store.workspaceId}/promotions/${gone.id}`, headers: store.owner.headers })).statusCode, 204)
  const hour = 3600_000
  await createPromotion(env, 'platform', { code: 'LATER', startsAt: new Date(Date.now() + hour).toISOString() })
  await createPromotion(env, 'platform', { code: 'OVER', startsAt: new Date(Date.now() - 2 * hour).toISOString(), endsAt: new Date(Date.now() - hour).toISOString() })
  for (const code of ['NOPE', 'OFFNOW', 'GONE', 'LATER', 'OVER']) {
    const res = await applyCode(env, buyer, code)
    t.equal(res.statusCode, 404, code)
    t.equal(res.json().code, 'PROMOTION_NOT_FOUND', code)
    t.equal(res.json().errors[0].pointer, '/body/code', code)
  }
  t.equal(await held(env, buyer), kept.id, 'the cart still holds the code it had')
})

t.test('minimum subtotal, currency and a workspace code\'s own lines: 409 with the reason, nothing held', async (t) => {
  const env = await createTestEnv(t)
  const { store, buyer, variantId } = await oneLineCart(env, 2000)
  await createPromotion(env, 'platform', { code: 'BIG50', minSubtotal: usd(5000) })
  await createPromotion(env, 'platform', { code: 'EUROS', kind: 'fixed', amountOff: { amount: 500, currency: 'eur' } })
  const other = await approvedStore(env)
  await createPromotion(env, other, { code: 'ELSEWHERE' })
  const refusals: Array<[string, string]> = [['BIG50', 'min_subtotal'], ['EUROS', 'currency'], ['ELSEWHERE', 'no_eligible_lines']]
  for (const [code, reason] of refusals) {
    const res = await applyCode(env, buyer, code)
    t.equal(res.statusCode, 409, code)
    t.same([res.json().code, res.json().reason], ['PROMOTION_NOT_APPLICABLE', reason], code)
    t.equal(await held(env, buyer), null, `${code}: nothing held`)
  }
  // At the minimum exactly, it applies (2 + 1 more = 6000 ≥ 5000).
  await addToCart(env, buyer, variantId, 2)
  const applied = await applyCode(env, buyer, 'big50')
  t.equal(applied.statusCode, 200)
  t.same(applied.json().summaries[0].discount, usd(600))
  // Lines removed below the minimum: the cart shows the code as not applicable, checkout refuses.
  const line = applied.json().items[0].id
  await env.app.inject({ method: 'PATCH', url: `/cart/items/${line}`, headers: buyer.session.headers, payload: { quantity: 2 } })
  const below = (await cartOf(env, buyer)).json().summaries[0]
  t.same(below.promotion, { code: 'BIG50', discount: usd(0), fundedBy: 'platform', applicable: false, reason: 'min_subtotal' })
  t.same(below.total, usd(4000))
  const refused = await checkout(env, buyer)
  t.same([refused.statusCode, refused.json().code, refused.json().reason], [409, 'PROMOTION_NOT_APPLICABLE', 'min_subtotal'])

  // A workspace's code covers only its lines.
  const mine = await createPromotion(env, store, { code: 'MINE20', percentBps: 2000 })
  const theirs = await createProduct(env, other, { price: 3000, variants: [{ stock: 5 }] })
  await addToCart(env, buyer, theirs.variants[0].id)
  const res = await applyCode(env, buyer, 'MINE20')
  t.equal(res.statusCode, 200)
  t.same(res.json().summaries[0].discount, usd(800), '20 % of the store\'s 4000, nothing of the other store\'s 3000')
  t.equal(mine.fundedBy, 'vendor')
})

t.test('checkout: a platform percent code split over two stores, as plan §3.6 A', async (t) => {
  const env = await createTestEnv(t)
  const { a, b, buyer } = await referenceCart(env)
  const promotion = await createPromotion(env, 'platform', { code: 'TEN', percentBps: 1000, minSubtotal: usd(5000), fundedBy: 'platform' })
  t.same((await applyCode(env, buyer, 'TEN')).json().summaries[0].discount, usd(950), 'the cart shows 10 % of 9499 = 949.9 → 950')
  const placed = await checkout(env, buyer)
  t.equal(placed.statusCode, 201)
  const body = placed.json()
  t.same([body.totals.subtotal, body.totals.discount, body.totals.total], [usd(9499), usd(950), usd(8549)])
  const byStore = new Map(body.orders.map((o: any) => [o.workspaceId, o]))
  const orderA = byStore.get(a.workspaceId) as any
  const orderB = byStore.get(b.workspaceId) as any
  t.same([orderA.totals.discount, orderB.totals.discount], [usd(550), usd(400)], 'split 550 / 400 by covered subtotal')
  t.same(orderA.items.map((i: any) => i.discount), [usd(400), usd(150)], 'within A, by line amount')
  t.same(orderB.items.map((i: any) => i.discount), [usd(400)])
  t.equal(orderA.promotionCode, 'TEN')
  const rows = await env.app.db.selectFrom('orders').select(['workspaceId', 'promotionId', 'discountAmount', 'platformFundedDiscount', 'totalAmount']).execute()
  t.ok(rows.every((r) => r.promotionId === promotion.id && r.platformFundedDiscount === r.discountAmount), 'the platform funds it, recorded on each order')
  const redemption = await env.app.db.selectFrom('promotionRedemptions').selectAll().executeTakeFirstOrThrow()
  t.same([redemption.checkoutId, redemption.discountAmount, redemption.currency, redemption.userId], [body.checkoutId, 950, 'usd', buyer.id])
  t.equal(await held(env, buyer), null, 'the used code leaves the cart')
  const view = await env.app.inject({ method: 'GET', url: `/orders/${orderA.id}`, headers: buyer.session.headers })
  t.same(view.json(), orderA, 'GET /orders/:id shows the same')
})

t.test('checkout: a fixed vendor-funded code over two stores, never more than it covers', async (t) => {
  const env = await createTestEnv(t)
  const { a, b, buyer } = await referenceCart(env)
  await createPromotion(env, 'platform', { code: 'THOUSAND', kind: 'fixed', amountOff: usd(1000), fundedBy: 'vendor' })
  t.equal((await applyCode(env, buyer, 'THOUSAND')).statusCode, 200)
  const body = (await checkout(env, buyer)).json()
  const byStore = new Map(body.orders.map((o: any) => [o.workspaceId, o]))
  // allocate(1000, [5500, 3999]): 579.01 and 420.99 → 579 + 420, the unit left to B (.99).
  t.same([(byStore.get(a.workspaceId) as any).totals.discount, (byStore.get(b.workspaceId) as any).totals.discount], [usd(579), usd(421)])
  // within A: allocate(579, [4000, 1500]) = 421.09, 157.91 → 421, 158.
  t.same((byStore.get(a.workspaceId) as any).items.map((i: any) => i.discount), [usd(421), usd(158)])
  t.same(body.totals.discount, usd(1000))
  const funded = await env.app.db.selectFrom('orders').select('platformFundedDiscount').execute()
  t.ok(funded.every((o) => o.platformFundedDiscount === 0), 'vendor-funded: the platform funds nothing')

  const small = await oneLineCart(env, 700)
  await createPromotion(env, 'platform', { code: 'HUGE', kind: 'fixed', amountOff: usd(5000) })
  t.same((await applyCode(env, small.buyer, 'HUGE')).json().summaries[0].discount, usd(700), 'a fixed code takes at most what it covers')
  const free = await checkout(env, small.buyer)
  t.same([free.statusCode, free.json().code], [409, 'NOTHING_TO_PAY'], 'a cart it makes free has nothing to pay')
})

t.test('checked again at checkout: expired, deactivated or used up since applied → 409, nothing changed', async (t) => {
  const env = await createTestEnv(t)
  const admin = await platformAdmin(env)
  const store = await approvedStore(env)
  const { buyer, variantId } = await oneLineCart(env, 2000, store)
  const rival = await oneLineCart(env, 2000, store)
  const promotion = await createPromotion(env, 'platform', { code: 'LASTONE', maxUses: 1 })
  t.equal((await applyCode(env, buyer, 'LASTONE')).statusCode, 200)
  t.equal((await applyCode(env, rival.buyer, 'LASTONE')).statusCode, 200)
  const patch = (payload: object) => env.app.inject({ method: 'PATCH', url: `/admin/promotions/${promotion.id}`, headers: admin.headers, payload })
  const state = async () => ({
    orders: (await env.app.db.selectFrom('orders').select('id').where('userId', '=', buyer.id).execute()).length,
    checkouts: (await env.app.db.selectFrom('checkouts').select('id').where('userId', '=', buyer.id).execute()).length,
    lines: (await env.app.db.selectFrom('cartItems').select('quantity').where('userId', '=', buyer.id).execute()).map((l) => l.quantity),
    stock: (await env.app.db.selectFrom('productVariants').select('stock').where('id', '=', variantId).executeTakeFirstOrThrow()).stock,
    used: (await env.app.db.selectFrom('promotions').select('usedCount').where('id', '=', promotion.id).executeTakeFirstOrThrow()).usedCount,
    held: await held(env, buyer)
  })
  const before = await state()

  t.equal((await patch({ endsAt: new Date(Date.now() - 1000).toISOString() })).statusCode, 200)
  const expired = await checkout(env, buyer)
  t.same([expired.statusCode, expired.json().code, expired.json().reason], [409, 'PROMOTION_UNAVAILABLE', 'expired'])
  t.same((await cartOf(env, buyer)).json().summaries[0].promotion, { code: 'LASTONE', discount: usd(0), fundedBy: 'platform', applicable: false, reason: 'expired' }, 'the cart tells why')
  t.same(await state(), before, 'nothing changed')

  t.equal((await patch({ endsAt: null, isActive: false })).statusCode, 200)
  const inactive = await checkout(env, buyer)
  t.same([inactive.statusCode, inactive.json().reason], [409, 'inactive'])
  t.same(await state(), before, 'nothing changed')

  t.equal((await patch({ isActive: true })).statusCode, 200)
  t.equal((await checkout(env, rival.buyer)).statusCode, 201, 'the rival takes the last use')
  const exhausted = await checkout(env, buyer)
  t.same([exhausted.statusCode, exhausted.json().code, exhausted.json().reason], [409, 'PROMOTION_UNAVAILABLE', 'exhausted'])
  t.same(await state(), { ...before, used: 1 }, 'nothing of this customer\'s changed')

  t.equal((await env.app.inject({ method: 'DELETE', url: '/cart/promotion', headers: buyer.session.headers })).statusCode, 200)
  const plain = await checkout(env, buyer)
  t.equal(plain.statusCode, 201, 'without the code, checkout goes ahead')
  t.same(plain.json().totals.discount, usd(0))
})

t.test('hostile input: a bad code is 400 naming /body/code, and changes nothing', async (t) => {
  const env = await createTestEnv(t)
  const { buyer } = await oneLineCart(env)
  const kept = await createPromotion(env, 'platform', { code: 'KEEPME' })
  t.equal((await applyCode(env, buyer, 'KEEPME')).statusCode, 200)
  const bad: Array<[string, unknown]> = [
    ['too short', 'AB'], ['too long', 'A'.repeat(33)], ['a space', 'TEN OFF'], ['a percent sign', 'TEN%'], ['a quote', "TEN'--"],
    ['unicode', 'TÉN10'], ['an object', { $ne: null }], ['an array', ['KEEPME']], ['a number', 123456], ['null', null], ['a NUL', 'TEN\u0000']
  ]
  for (const [label, code] of bad) {
    const res = await applyCode(env, buyer, code)
    t.equal(res.statusCode, 400, label)
    t.ok(res.json().errors?.some((e: any) => e.pointer === '/body/code'), `${label}: names /body/code`)
  }
  const missing = await env.app.inject({ method: 'POST', url: '/cart/promotion', headers: buyer.session.headers, payload: {} })
  t.equal(missing.statusCode, 400)
  const extra = await env.app.inject({ method: 'POST', url: '/cart/promotion', headers: buyer.session.headers, payload: { code: 'KEEPME', discount: 100 } })
  t.equal(extra.statusCode, 400, 'an unknown field is refused')
  t.equal(await held(env, buyer), kept.id, 'the cart still holds its code')
})

t.test('applying is rate limited per customer: 20 a minute, then 429 with retry-after', async (t) => {
  const env = await createTestEnv(t)
  const { buyer } = await oneLineCart(env)
  const other = await shopper(env)
  const tries = await Promise.all(Array.from({ length: 25 }, (_, i) => applyCode(env, buyer, `GUESS${i}`)))
  t.equal(tries.filter((r) => r.statusCode === 404).length, 20, 'twenty guesses answered')
  const limited = tries.filter((r) => r.statusCode === 429)
  t.equal(limited.length, 5, 'the rest limited')
  t.ok(Number(limited[0]!.headers['retry-after']) > 0)
  t.equal((await applyCode(env, other, 'GUESS1')).statusCode, 404, 'another customer is not limited by it')
})
