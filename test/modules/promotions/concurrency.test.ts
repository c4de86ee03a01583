import t from 'tap'
import { consumePromotion } from '../../../src/modules/promotions/public.ts'
import { createTestEnv } from '../../helpers/app.ts'
import { addToCart, applyCode, approvedStore, checkout, createProduct, createPromotion, shopper } from '../../helpers/commerce.ts'

// A code's limits hold under real concurrency (plan §4 WP2): the use is taken by one guarded
// statement in the checkout's transaction, on the locked latest row, and the database's check
// (used_count <= max_uses) would refuse an overuse anyway.

t.test('50 concurrent checkouts with a code limited to 10 uses: exactly 10 discounted orders', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { price: 2000, variants: [{ stock: 100 }] })
  const variantId = product.variants[0].id
  const promotion = await createPromotion(env, 'platform', { code: 'TENOFF', percentBps: 1000, maxUses: 10 })
  const shoppers = []
  for (let i = 0; i < 50; i++) {
    const s = await shopper(env)
    t.equal((await addToCart(env, s, variantId)).statusCode, 200)
    const applied = await applyCode(env, s, i % 2 === 0 ? 'tenoff' : 'TENOFF')
    t.equal(applied.statusCode, 200)
    t.equal(applied.json().summaries[0].discount.amount, 200, 'the cart shows the discount')
    shoppers.push(s)
  }

  const results = await Promise.all(shoppers.map((s) => checkout(env, s)))
  const placed = results.filter((r) => r.statusCode === 201)
  const refused = results.filter((r) => r.statusCode === 409)
  t.equal(placed.length, 10, 'ten checkouts placed')
  t.equal(refused.length, 40, 'forty refused')
  t.ok(placed.every((r) => r.json().totals.discount.amount === 200 && r.json().totals.total.amount === 1800), 'every placed checkout is discounted')
  t.ok(refused.every((r) => r.json().code === 'PROMOTION_UNAVAILABLE' && r.json().reason === 'exhausted'), 'every refusal is PROMOTION_UNAVAILABLE (exhausted)')

  const db = env.app.db
  const row = await db.selectFrom('promotions').select('usedCount').where('id', '=', promotion.id).executeTakeFirstOrThrow()
  t.equal(row.usedCount, 10, 'used_count is exactly the limit')
  const redemptions = await db.selectFrom('promotionRedemptions').select(['userId', 'checkoutId', 'discountAmount']).execute()
  t.equal(redemptions.length, 10, 'ten redemptions')
  t.ok(redemptions.every((r) => r.discountAmount === 200), 'each records its discount')
  const orders = await db.selectFrom('orders').select(['userId', 'checkoutId', 'promotionId', 'discountAmount', 'platformFundedDiscount']).execute()
  t.equal(orders.length, 10, 'ten orders, none for the refused')
  t.ok(orders.every((o) => o.promotionId === promotion.id && o.discountAmount === 200 && o.platformFundedDiscount === 200), 'each names the code, is discounted, and the platform funds it')
  t.same(new Set(orders.map((o) => o.checkoutId)), new Set(redemptions.map((r) => r.checkoutId)), 'a redemption per placed checkout')
  const uses = await db.selectFrom('promotionCustomerUses').select('uses').execute()
  t.same(uses.map((u) => u.uses), Array(10).fill(1), 'one use per customer who got it')
  const variant = await db.selectFrom('productVariants').select('stock').where('id', '=', variantId).executeTakeFirstOrThrow()
  t.equal(variant.stock, 90, 'stock + sold = initial')
  const held = await db.selectFrom('cartPromotions').select('userId').execute()
  const refusedIds = new Set(shoppers.filter((_, i) => results[i]!.statusCode === 409).map((s) => s.id))
  t.equal(held.length, 40, 'the refused carts still hold the code')
  t.ok(held.every((h) => refusedIds.has(h.userId)), 'and only theirs')
  t.equal((await db.selectFrom('cartItems').select('id').execute()).length, 40, 'the refused carts keep their lines')
})

t.test('maxUsesPerCustomer 1: a customer gets the code once, however they ask', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { price: 1000, variants: [{ stock: 100 }] })
  const variantId = product.variants[0].id
  const promotion = await createPromotion(env, store, { code: 'ONCE', kind: 'fixed', amountOff: { amount: 300, currency: 'usd' }, maxUsesPerCustomer: 1 })
  const buyer = await shopper(env)
  await addToCart(env, buyer, variantId)
  t.equal((await applyCode(env, buyer, 'once')).statusCode, 200)
  // Ten checkouts of that one cart at once: the cart is taken once, the code used once.
  const burst = await Promise.all(Array.from({ length: 10 }, () => checkout(env, buyer)))
  t.equal(burst.filter((r) => r.statusCode === 201).length, 1, 'one checkout')
  t.ok(burst.filter((r) => r.statusCode !== 201).every((r) => r.statusCode === 409 && r.json().code === 'CART_EMPTY'), 'the others find the cart taken')

  await addToCart(env, buyer, variantId)
  const again = await applyCode(env, buyer, 'ONCE')
  t.equal(again.statusCode, 409)
  t.equal(again.json().code, 'PROMOTION_NOT_APPLICABLE')
  t.equal(again.json().reason, 'customer_limit', 'applying it again is refused')

  // A cart that holds it anyway (applied in another tab before the first checkout, say).
  await env.app.db.insertInto('cartPromotions').values({ userId: buyer.id, promotionId: promotion.id, appliedAt: new Date() }).execute()
  const cart = await env.app.inject({ method: 'GET', url: '/cart', headers: buyer.session.headers })
  t.same(cart.json().summaries[0].promotion, { code: 'ONCE', discount: { amount: 0, currency: 'usd' }, fundedBy: 'vendor', applicable: false, reason: 'customer_limit' }, 'the cart shows it cannot be used')
  const second = await checkout(env, buyer)
  t.equal(second.statusCode, 409)
  t.equal(second.json().code, 'PROMOTION_UNAVAILABLE')
  t.equal(second.json().reason, 'customer_limit')
  const db = env.app.db
  t.equal((await db.selectFrom('promotionRedemptions').select('id').execute()).length, 1, 'one redemption')
  t.equal((await db.selectFrom('orders').select('id').execute()).length, 1, 'one order')
  t.equal((await db.selectFrom('promotions').select('usedCount').executeTakeFirstOrThrow()).usedCount, 1)
})

t.test('the guarded statement alone refuses a used-up, ended or per-customer-spent code, and changes nothing', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const buyer = await shopper(env)
  const db = env.app.db
  const deps = env.app.deps
  const take = (promotionId: string) => db.transaction().execute((trx) =>
    consumePromotion(trx, deps, { promotionId, userId: buyer.id, checkoutId: deps.random.uuid(), currency: 'usd', discount: 100 }))
  const refusal = async (promotionId: string) => {
    const err = await take(promotionId).then(() => null, (e: any) => e)
    return err && [err.status, err.code, err.extra?.reason]
  }
  const usedUp = await createPromotion(env, store, { maxUses: 3 })
  await db.updateTable('promotions').set({ usedCount: 3 }).where('id', '=', usedUp.id).execute()
  t.same(await refusal(usedUp.id), [409, 'PROMOTION_UNAVAILABLE', 'exhausted'])
  const ended = await createPromotion(env, store, { startsAt: new Date(Date.now() - 7200_000).toISOString(), endsAt: new Date(Date.now() - 3600_000).toISOString() })
  t.same(await refusal(ended.id), [409, 'PROMOTION_UNAVAILABLE', 'expired'])
  const spent = await createPromotion(env, store, { maxUsesPerCustomer: 2 })
  await db.insertInto('promotionCustomerUses').values({ promotionId: spent.id, userId: buyer.id, uses: 2 }).execute()
  t.same(await refusal(spent.id), [409, 'PROMOTION_UNAVAILABLE', 'customer_limit'])
  const rows = await db.selectFrom('promotions').select(['id', 'usedCount']).execute()
  t.same(Object.fromEntries(rows.map((r) => [r.id, r.usedCount])), { [usedUp.id]: 3, [ended.id]: 0, [spent.id]: 0 }, 'no use taken')
  t.same((await db.selectFrom('promotionCustomerUses').select('uses').execute()).map((u) => u.uses), [2], 'no customer use added')
  t.same(await db.selectFrom('promotionRedemptions').select('id').execute(), [], 'no redemption')
})
