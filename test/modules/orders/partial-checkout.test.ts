import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { addToCart, approvedStore, checkout, createProduct, shopper, type Shopper } from '../../helpers/commerce.ts'
import { startStripeDouble } from '../../helpers/stripe-double.ts'

// Checking out part of a cart (plan §8): `lines` or `currency` in POST /orders' body.

async function cartOf (env: TestEnv, who: Shopper) {
  return (await env.app.inject({ method: 'GET', url: '/cart', headers: who.session.headers })).json()
}

async function stockOf (env: TestEnv, variantIds: string[]) {
  const rows = await env.app.db.selectFrom('productVariants').select(['id', 'stock']).where('id', 'in', variantIds).execute()
  return Object.fromEntries(rows.map((r) => [r.id, r.stock]))
}

async function soldOf (env: TestEnv, variantId: string): Promise<number> {
  const row = await env.app.db.selectFrom('orderItems').select((eb) => eb.fn.sum<number>('quantity').as('q')).where('variantId', '=', variantId).executeTakeFirst()
  return Number(row?.q ?? 0)
}

t.test('partial checkout of a two-currency cart: usd then eur, each paid by its own PaymentIntent', async (t) => {
  const stripe = await startStripeDouble()
  t.teardown(() => stripe.close())
  const env = await createTestEnv(t, { config: { stripe: { secretKey: stripe.secretKey, webhookSecret: stripe.webhookSecret, apiUrl: stripe.url } } })
  const store = await approvedStore(env)
  const shirt = await createProduct(env, store, { price: 2000, currency: 'usd', variants: [{ stock: 5 }] })
  const mug = await createProduct(env, store, { price: 1500, currency: 'usd', variants: [{ stock: 5 }] })
  const scarf = await createProduct(env, store, { price: 3000, currency: 'eur', variants: [{ stock: 4 }] })
  const ids = [shirt.variants[0].id, mug.variants[0].id, scarf.variants[0].id]
  const buyer = await shopper(env)
  await addToCart(env, buyer, ids[0], 2)
  await addToCart(env, buyer, ids[1], 1)
  await addToCart(env, buyer, ids[2], 3)

  const mixed = await checkout(env, buyer)
  t.equal(mixed.statusCode, 409)
  t.equal(mixed.json().code, 'MIXED_CURRENCIES')
  t.same(mixed.json().currencies, ['eur', 'usd'], 'the refusal names the currencies')
  t.match(mixed.json().detail, /pass currency/, 'and says how to go on')
  t.same(await stockOf(env, ids), { [ids[0]]: 5, [ids[1]]: 5, [ids[2]]: 4 }, 'the refusal took no stock')

  const usd = await checkout(env, buyer, 'usd-part', { shippingAddressId: buyer.addressId, currency: 'usd' })
  t.equal(usd.statusCode, 201)
  const usdBody = usd.json()
  t.same(usdBody.total, { amount: 2 * 2000 + 1500, currency: 'usd' }, 'only the usd lines are bought')
  t.same(usdBody.orders.flatMap((o: any) => o.items.map((i: any) => i.variantId)).sort(), [ids[0], ids[1]].sort())
  const left = await cartOf(env, buyer)
  t.same(left.items.map((i: any) => [i.variantId, i.quantity]), [[ids[2], 3]], 'the eur line stays with its quantity')
  t.same(await stockOf(env, ids), { [ids[0]]: 3, [ids[1]]: 4, [ids[2]]: 4 }, 'eur stock untouched')

  const eur = await checkout(env, buyer, 'eur-part', { shippingAddressId: buyer.addressId, currency: 'eur' })
  t.equal(eur.statusCode, 201)
  t.same(eur.json().total, { amount: 9000, currency: 'eur' })
  t.same((await cartOf(env, buyer)).items, [], 'the cart is empty at the end')
  t.same(await stockOf(env, ids), { [ids[0]]: 3, [ids[1]]: 4, [ids[2]]: 1 })

  const checkouts = await env.app.db.selectFrom('checkouts').select(['id', 'currency', 'totalAmount', 'paymentIntentId']).orderBy('currency').execute()
  t.same(checkouts.map((c) => [c.currency, c.totalAmount]), [['eur', 9000], ['usd', 5500]], 'two checkouts in the DB')
  const intents = stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents')
  t.equal(intents.length, 2, 'two PaymentIntents at the double')
  for (const c of checkouts) {
    const intent = intents.find((r) => r.idempotencyKey === `checkout-${c.id}`)
    t.ok(intent, `an intent for the ${c.currency} checkout`)
    t.equal(intent?.body.currency, c.currency, 'in its currency')
    t.equal(Number(intent?.body.amount), c.totalAmount, 'for its total')
  }
  t.equal(Number(intents.find((r) => r.body.currency === 'usd')?.body.amount), usdBody.totals.total.amount, 'the usd intent charges the usd checkout total')
})

t.test('lines: only the named lines are bought; unknown or foreign lines are 409 and change nothing', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const a = await createProduct(env, store, { price: 1000, variants: [{ stock: 5 }] })
  const b = await createProduct(env, store, { price: 700, variants: [{ stock: 5 }] })
  const buyer = await shopper(env)
  const other = await shopper(env)
  await addToCart(env, buyer, a.variants[0].id, 2)
  await addToCart(env, buyer, b.variants[0].id, 1)
  await addToCart(env, other, a.variants[0].id, 1)
  const lines = (await cartOf(env, buyer)).items
  const foreignLine = (await cartOf(env, other)).items[0].id
  const lineA = lines.find((l: any) => l.variantId === a.variants[0].id).id
  const unknown = '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f'

  for (const [name, selected, missing] of [['unknown', [lineA, unknown], [unknown]], ['foreign', [foreignLine], [foreignLine]]] as const) {
    const res = await checkout(env, buyer, `k-${name}`, { shippingAddressId: buyer.addressId, lines: selected })
    t.equal(res.statusCode, 409, `${name} line refused`)
    t.equal(res.json().code, 'CART_LINES_NOT_FOUND')
    t.same(res.json().lineIds, missing, 'naming the missing lines only')
    t.equal(res.json().errors[0].pointer, '/body/lines')
  }
  t.equal((await cartOf(env, buyer)).items.length, 2, 'the cart is as it was')
  t.equal((await cartOf(env, other)).items.length, 1, 'the other cart is untouched')
  t.same(await stockOf(env, [a.variants[0].id, b.variants[0].id]), { [a.variants[0].id]: 5, [b.variants[0].id]: 5 }, 'no stock taken')
  t.equal((await env.app.db.selectFrom('checkouts').select('id').execute()).length, 0, 'no checkout written')

  const res = await checkout(env, buyer, 'k-a', { shippingAddressId: buyer.addressId, lines: [lineA] })
  t.equal(res.statusCode, 201)
  t.same(res.json().total, { amount: 2000, currency: 'usd' }, 'the total covers the selected line only')
  t.same(res.json().totals.subtotal, { amount: 2000, currency: 'usd' }, 'priced on the selected line only')
  t.same((await cartOf(env, buyer)).items.map((i: any) => i.variantId), [b.variants[0].id], 'the other line stays')
  const bought = await checkout(env, buyer, 'k-again', { shippingAddressId: buyer.addressId, lines: [lineA] })
  t.equal(bought.statusCode, 409, 'a line bought already is not found')
  t.equal(bought.json().code, 'CART_LINES_NOT_FOUND')
  const none = await checkout(env, buyer, 'k-eur', { shippingAddressId: buyer.addressId, currency: 'eur' })
  t.equal(none.statusCode, 409, 'a currency with no line in the cart')
  t.equal(none.json().code, 'CART_EMPTY')
})

t.test('hostile selections are 400 naming the field and change nothing', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const a = await createProduct(env, store, { price: 1000, variants: [{ stock: 5 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, a.variants[0].id, 1)
  const line = (await cartOf(env, buyer)).items[0].id
  const cases: Array<[string, object, string]> = [
    ['both', { lines: [line], currency: 'usd' }, '/body/currency'],
    ['empty lines', { lines: [] }, '/body/lines'],
    ['duplicate lines', { lines: [line, line] }, '/body/lines'],
    ['101 lines', { lines: Array.from({ length: 101 }, () => line) }, '/body/lines'],
    ['not a uuid', { lines: ['x'] }, '/body/lines/0'],
    ['upper-case currency', { currency: 'USD' }, '/body/currency'],
    ['long currency', { currency: 'usdd' }, '/body/currency']
  ]
  for (const [name, selection, pointer] of cases) {
    const res = await checkout(env, buyer, `k-${name}`, { shippingAddressId: buyer.addressId, ...selection })
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().code, 'VALIDATION_FAILED')
    t.ok(res.json().errors.some((e: any) => e.pointer === pointer), `${name} names ${pointer}`)
  }
  t.equal((await cartOf(env, buyer)).items.length, 1, 'the cart is as it was')
  t.equal((await env.app.db.selectFrom('checkouts').select('id').execute()).length, 0)
})

t.test('replay: the same key and selection answer the same; another selection under the key is 422', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const a = await createProduct(env, store, { price: 1000, variants: [{ stock: 5 }] })
  const b = await createProduct(env, store, { price: 1000, currency: 'eur', variants: [{ stock: 5 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, a.variants[0].id, 1)
  await addToCart(env, buyer, b.variants[0].id, 1)
  const body = { shippingAddressId: buyer.addressId, currency: 'usd' }
  const first = await checkout(env, buyer, 'replayed', body)
  t.equal(first.statusCode, 201)
  const again = await checkout(env, buyer, 'replayed', body)
  t.equal(again.statusCode, 201)
  t.equal(again.body, first.body, 'the identical answer')
  const other = await checkout(env, buyer, 'replayed', { shippingAddressId: buyer.addressId, currency: 'eur' })
  t.equal(other.statusCode, 422)
  t.equal(other.json().code, 'IDEMPOTENCY_KEY_REUSED')
  t.equal((await env.app.db.selectFrom('checkouts').select('id').execute()).length, 1, 'one checkout')
  t.same((await cartOf(env, buyer)).items.map((i: any) => i.variantId), [b.variants[0].id], 'the eur line stays')
})

t.test('concurrent partial checkouts: disjoint lines all succeed, one line is bought once', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const products = []
  for (let i = 0; i < 6; i++) products.push(await createProduct(env, store, { price: 500 + i, variants: [{ stock: 10 }] }))
  const variantIds = products.map((p) => p.variants[0].id as string)
  const buyer = await shopper(env)
  for (const id of variantIds) await addToCart(env, buyer, id, 2)
  const lines = (await cartOf(env, buyer)).items.map((i: any) => i.id as string)

  // Disjoint: three checkouts of two lines each, at once.
  const disjoint = await Promise.all([0, 2, 4].map((i) => checkout(env, buyer, `d-${i}`, { shippingAddressId: buyer.addressId, lines: [lines[i], lines[i + 1]] })))
  t.same(disjoint.map((r) => r.statusCode), [201, 201, 201], 'each disjoint part is bought')
  t.same((await cartOf(env, buyer)).items, [], 'nothing left')
  for (const id of variantIds) t.equal((await stockOf(env, [id]))[id]! + await soldOf(env, id), 10, 'stock + sold = initial')

  // Overlapping: 20 checkouts naming the same line (with another in a different order each time).
  for (const id of variantIds.slice(0, 3)) await addToCart(env, buyer, id, 1)
  const again = (await cartOf(env, buyer)).items.map((i: any) => i.id as string)
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => {
    const selection = i % 3 === 0 ? [again[0]] : i % 3 === 1 ? [again[0], again[1]] : [again[2], again[0]]
    return checkout(env, buyer, `o-${i}`, { shippingAddressId: buyer.addressId, lines: selection })
  }))
  t.equal(results.filter((r) => r.statusCode >= 500).length, 0, 'no deadlock, no server error')
  const won = results.filter((r) => r.statusCode === 201)
  t.equal(won.length, 1, 'the shared line is bought once')
  t.ok(results.filter((r) => r.statusCode !== 201).every((r) => r.statusCode === 409 && r.json().code === 'CART_LINES_NOT_FOUND'), 'the others are told a line is gone')
  const boughtLine0 = await env.app.db.selectFrom('orderItems').select((eb) => eb.fn.countAll<number>().as('n')).where('variantId', '=', variantIds[0]!).executeTakeFirstOrThrow()
  t.equal(Number(boughtLine0.n), 2, 'the first variant is on two order items: the disjoint round and one overlap winner')
  const left = (await cartOf(env, buyer)).items.map((i: any) => i.id as string)
  const taken = new Set(won[0]!.json().orders.flatMap((o: any) => o.items.map((i: any) => i.variantId)))
  t.equal(left.length + taken.size, 3, 'every line is either bought once or still in the cart')
  for (const id of variantIds) t.equal((await stockOf(env, [id]))[id]! + await soldOf(env, id), 10, 'stock + sold = initial')
})

t.test('a line added while a partial checkout runs stays in the cart', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const a = await createProduct(env, store, { price: 1000, variants: [{ stock: 50 }] })
  const b = await createProduct(env, store, { price: 900, variants: [{ stock: 50 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, a.variants[0].id, 1)
  const line = (await cartOf(env, buyer)).items[0].id
  const [res, add] = await Promise.all([
    checkout(env, buyer, 'k-during', { shippingAddressId: buyer.addressId, lines: [line] }),
    addToCart(env, buyer, b.variants[0].id, 2)
  ])
  t.equal(res.statusCode, 201)
  t.equal(add.statusCode, 200)
  t.same((await cartOf(env, buyer)).items.map((i: any) => [i.variantId, i.quantity]), [[b.variants[0].id, 2]], 'the added line stays')
  t.same(res.json().total, { amount: 1000, currency: 'usd' })
})

t.test('whole-cart and partial checkouts of one cart at once: no deadlock, each line bought at most once', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const variantIds: string[] = []
  for (let i = 0; i < 4; i++) variantIds.push((await createProduct(env, store, { price: 1000 + i, variants: [{ stock: 100 }] })).variants[0].id)
  const buyers = []
  for (let round = 0; round < 12; round++) {
    const buyer = await shopper(env)
    // Added in reverse variant order, so line ids and variant ids sort differently.
    for (const id of [...variantIds].reverse()) await addToCart(env, buyer, id, 1)
    buyers.push({ buyer, lines: (await cartOf(env, buyer)).items.map((i: any) => i.id as string) })
  }
  const results = await Promise.all(buyers.flatMap(({ buyer, lines }, round) => [
    checkout(env, buyer, `whole-${round}`),
    checkout(env, buyer, `part-a-${round}`, { shippingAddressId: buyer.addressId, lines: [lines[3], lines[0]] }),
    checkout(env, buyer, `part-b-${round}`, { shippingAddressId: buyer.addressId, lines: [lines[2], lines[1]] })
  ]))
  t.same(results.filter((r) => r.statusCode >= 500).map((r) => r.body), [], 'no deadlock, no server error')
  t.ok(results.every((r) => r.statusCode === 201 || (r.statusCode === 409 && ['CART_LINES_NOT_FOUND', 'CART_EMPTY'].includes(r.json().code))), 'each checkout bought or was told its lines are gone')
  for (const { buyer } of buyers) {
    const bought = await env.app.db.selectFrom('orderItems as i').innerJoin('orders as o', 'o.id', 'i.orderId').select('i.variantId').where('o.userId', '=', buyer.id).execute()
    const left = (await cartOf(env, buyer)).items.map((i: any) => i.variantId)
    t.same([...bought.map((b) => b.variantId), ...left].sort(), [...variantIds].sort(), 'each line bought once or still in the cart')
  }
  for (const id of variantIds) t.equal((await stockOf(env, [id]))[id]! + await soldOf(env, id), 100, 'stock + sold = initial')
})

t.test('a selection of lines in two currencies is MIXED_CURRENCIES, changing nothing', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const usd = await createProduct(env, store, { price: 1000, variants: [{ stock: 5 }] })
  const eur = await createProduct(env, store, { price: 1000, currency: 'eur', variants: [{ stock: 5 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, usd.variants[0].id, 1)
  await addToCart(env, buyer, eur.variants[0].id, 1)
  const lines = (await cartOf(env, buyer)).items.map((i: any) => i.id)
  const res = await checkout(env, buyer, 'k-mixed-lines', { shippingAddressId: buyer.addressId, lines })
  t.equal(res.statusCode, 409)
  t.equal(res.json().code, 'MIXED_CURRENCIES')
  t.same(res.json().currencies, ['eur', 'usd'])
  t.equal((await cartOf(env, buyer)).items.length, 2, 'the cart is as it was')
  t.equal((await env.app.db.selectFrom('checkouts').select('id').execute()).length, 0)
})
