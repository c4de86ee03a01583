import { randomUUID } from 'node:crypto'
import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { addToCart, approvedStore, createProduct, shopper, type Shopper, type Store } from '../../helpers/commerce.ts'

// The cart (SPEC 8.3) through its routes: lines at live prices with per-currency totals, the
// stock limit on every way a quantity grows, ownership, and input checks. After every refusal
// the database is read to show that nothing changed.

const cartOf = (env: TestEnv, who: Shopper) => env.app.inject({ method: 'GET', url: '/cart', headers: who.session.headers })
const setQuantity = (env: TestEnv, who: Shopper, itemId: string, quantity: unknown) =>
  env.app.inject({ method: 'PATCH', url: `/cart/items/${itemId}`, headers: who.session.headers, payload: { quantity } })
const removeLine = (env: TestEnv, who: Shopper, itemId: string) =>
  env.app.inject({ method: 'DELETE', url: `/cart/items/${itemId}`, headers: who.session.headers })
const patchProduct = (env: TestEnv, store: Store, productId: string, payload: object) =>
  env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}/products/${productId}`, headers: store.owner.headers, payload })

/** The caller's cart rows as stored, oldest first. */
const rowsOf = (env: TestEnv, who: Shopper) =>
  env.app.db.selectFrom('cartItems').select(['id', 'variantId', 'quantity']).where('userId', '=', who.id).orderBy('createdAt').orderBy('id').execute()

t.test('a new customer has an empty cart; every cart route needs a sign-in', async (t) => {
  const env = await createTestEnv(t)
  const buyer = await shopper(env)
  const res = await cartOf(env, buyer)
  t.equal(res.statusCode, 200)
  t.same(res.json(), { items: [], totals: [], summaries: [], itemCount: 0 }, 'no lines, no totals, no summaries')

  const store = await approvedStore(env)
  const product = await createProduct(env, store, { variants: [{ stock: 5 }] })
  t.equal((await addToCart(env, buyer, product.variants[0].id)).statusCode, 200)
  const [line] = await rowsOf(env, buyer)
  const anonymous = [
    { method: 'GET' as const, url: '/cart' },
    { method: 'POST' as const, url: '/cart/items', payload: { variantId: product.variants[0].id, quantity: 1 } },
    { method: 'PATCH' as const, url: `/cart/items/${line!.id}`, payload: { quantity: 3 } },
    { method: 'DELETE' as const, url: `/cart/items/${line!.id}` },
    { method: 'DELETE' as const, url: '/cart' }
  ]
  for (const request of anonymous) {
    const refused = await env.app.inject(request)
    t.equal(refused.statusCode, 401, `${request.method} ${request.url} without a token: 401`)
    t.match(refused.headers['content-type'], /application\/problem\+json/)
    t.equal(refused.json().code, 'UNAUTHORIZED')
  }
  const bad = await env.app.inject({ method: 'GET', url: '/cart', headers: { authorization: 'Bearer not-a-token' } })
  t.equal(bad.statusCode, 401, 'a made-up token: 401')
  t.same(await rowsOf(env, buyer), [{ id: line!.id, variantId: product.variants[0].id, quantity: 1 }], 'anonymous requests changed nothing')
})

t.test('adding a variant again adds to its line: one line, the quantities summed', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const shirt = await createProduct(env, store, { title: 'Shirt', variants: [{ size: 'M', stock: 10 }, { size: 'L', stock: 10 }] })
  const [m, l] = shirt.variants
  const buyer = await shopper(env)

  const first = await addToCart(env, buyer, m.id, 2)
  t.equal(first.statusCode, 200)
  const firstLine = first.json().items[0]
  t.match(firstLine, { variantId: m.id, productId: shirt.id, workspaceId: store.workspaceId, title: 'Shirt', size: 'M', sku: m.sku, quantity: 2, stock: 10, available: true })
  t.equal(first.json().itemCount, 2)

  const second = await addToCart(env, buyer, m.id, 3)
  t.equal(second.statusCode, 200)
  t.equal(second.json().items.length, 1, 'still one line')
  t.equal(second.json().items[0].id, firstLine.id, 'the same line')
  t.equal(second.json().items[0].quantity, 5, '2 + 3')
  t.same(await rowsOf(env, buyer), [{ id: firstLine.id, variantId: m.id, quantity: 5 }], 'one row in the database, quantity 5')

  const other = await addToCart(env, buyer, l.id, 1)
  t.same(other.json().items.map((i: any) => [i.size, i.quantity]), [['M', 5], ['L', 1]], 'another size is another line, in the order added')
  t.equal(other.json().itemCount, 6)

  // A retried add (same Idempotency-Key and body) is replayed, not added a second time.
  const retry = () => env.app.inject({ method: 'POST', url: '/cart/items', headers: { ...buyer.session.headers, 'idempotency-key': 'add-once' }, payload: { variantId: l.id, quantity: 2 } })
  const once = await retry()
  const twice = await retry()
  t.equal(once.statusCode, 200)
  t.equal(twice.body, once.body, 'the retry gets the first response')
  t.equal((await rowsOf(env, buyer)).find((r) => r.variantId === l.id)?.quantity, 3, '1 + 2, counted once')
})

t.test('lines and totals follow the product\'s current price and discount, in integer minor units per currency', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const shirt = await createProduct(env, store, { price: 1990, currency: 'usd', variants: [{ size: 'M', stock: 10 }, { size: 'L', stock: 10, price: 2500 }] })
  const mug = await createProduct(env, store, { price: 1200, currency: 'eur', variants: [{ stock: 10 }] })
  const buyer = await shopper(env)
  await addToCart(env, buyer, shirt.variants[0].id, 2)
  await addToCart(env, buyer, shirt.variants[1].id, 1)
  await addToCart(env, buyer, mug.variants[0].id, 3)

  const money = (cart: any) => ({
    lines: cart.items.map((i: any) => [i.size, i.unitPrice.amount, i.lineTotal.amount, i.lineTotal.currency]),
    totals: [...cart.totals].sort((a: any, b: any) => a.currency.localeCompare(b.currency))
  })
  const integral = (cart: any) => [...cart.items.flatMap((i: any) => [i.unitPrice.amount, i.lineTotal.amount]), ...cart.totals.map((m: any) => m.amount)].every(Number.isInteger)

  let cart = (await cartOf(env, buyer)).json()
  t.same(money(cart), {
    lines: [['M', 1990, 3980, 'usd'], ['L', 2500, 2500, 'usd'], [null, 1200, 3600, 'eur']],
    totals: [{ amount: 3600, currency: 'eur' }, { amount: 6480, currency: 'usd' }]
  }, 'list prices (the L variant has its own), two currencies, two totals')
  t.equal(cart.itemCount, 6)
  t.ok(integral(cart), 'every amount is an integer')

  t.equal((await patchProduct(env, store, shirt.id, { discountPercentage: 15 })).statusCode, 200)
  cart = (await cartOf(env, buyer)).json()
  // 1990 less 15 % is 1691.5, rounded half up; 2500 less 15 % is 2125.
  t.same(money(cart), {
    lines: [['M', 1692, 3384, 'usd'], ['L', 2125, 2125, 'usd'], [null, 1200, 3600, 'eur']],
    totals: [{ amount: 3600, currency: 'eur' }, { amount: 5509, currency: 'usd' }]
  }, 'a new discount shows at once')
  t.ok(integral(cart), 'still integers after a discount')

  t.equal((await patchProduct(env, store, shirt.id, { price: { amount: 2001, currency: 'usd' } })).statusCode, 200)
  t.equal((await patchProduct(env, store, mug.id, { discountPercentage: 50, price: { amount: 999, currency: 'eur' } })).statusCode, 200)
  cart = (await cartOf(env, buyer)).json()
  // 2001 less 15 % is 1700.85 → 1701; the L variant keeps its own 2500 → 2125; 999 less 50 % is 499.5 → 500.
  t.same(money(cart), {
    lines: [['M', 1701, 3402, 'usd'], ['L', 2125, 2125, 'usd'], [null, 500, 1500, 'eur']],
    totals: [{ amount: 1500, currency: 'eur' }, { amount: 5527, currency: 'usd' }]
  }, 'a new price shows at once')
  t.ok(integral(cart))

  // The cart charges what the catalog shows.
  const catalog = (await env.app.inject({ method: 'GET', url: `/products/${shirt.id}` })).json()
  t.same(cart.items.slice(0, 2).map((i: any) => i.unitPrice), catalog.variants.map((v: any) => v.finalPrice), 'unit prices equal the catalog\'s final prices')
})

t.test('more than the stock is 409 OUT_OF_STOCK on add, on adding to a line, and on PATCH; the cart stays as it was', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { variants: [{ sku: 'STOCK-5', stock: 5 }] })
  const variantId = product.variants[0].id
  const buyer = await shopper(env)

  const tooMany = await addToCart(env, buyer, variantId, 6)
  t.equal(tooMany.statusCode, 409)
  t.match(tooMany.json(), { code: 'OUT_OF_STOCK', variantId, available: 5 })
  t.same(await rowsOf(env, buyer), [], 'no line was made')

  t.equal((await addToCart(env, buyer, variantId, 3)).statusCode, 200)
  const merged = await addToCart(env, buyer, variantId, 3)
  t.equal(merged.statusCode, 409, '3 + 3 is more than 5')
  t.equal(merged.json().code, 'OUT_OF_STOCK')
  const [line] = await rowsOf(env, buyer)
  t.equal(line!.quantity, 3, 'the line keeps its 3')
  t.equal((await addToCart(env, buyer, variantId, 2)).json().items[0].quantity, 5, 'exactly the stock is fine')

  const patched = await setQuantity(env, buyer, line!.id, 6)
  t.equal(patched.statusCode, 409)
  t.match(patched.json(), { code: 'OUT_OF_STOCK', variantId, available: 5 })
  t.same(await rowsOf(env, buyer), [{ id: line!.id, variantId, quantity: 5 }], 'PATCH refused: still 5')

  // Stock falls under the line (sold elsewhere): the line says so, and can be brought down to it.
  t.equal((await patchProduct(env, store, product.id, { variants: [{ id: variantId, sku: 'STOCK-5', stock: 2 }] })).statusCode, 200)
  const short = (await cartOf(env, buyer)).json().items[0]
  t.match(short, { quantity: 5, stock: 2, available: false }, 'a line above the stock is marked unavailable')
  t.equal((await setQuantity(env, buyer, line!.id, 3)).statusCode, 409, 'still above the new stock')
  t.equal((await addToCart(env, buyer, variantId, 1)).statusCode, 409, 'adding to it is refused too')
  const fixed = await setQuantity(env, buyer, line!.id, 2)
  t.equal(fixed.statusCode, 200)
  t.match(fixed.json().items[0], { quantity: 2, stock: 2, available: true })
  t.equal((await rowsOf(env, buyer))[0]!.quantity, 2)
})

t.test('parallel adds of one variant never put more than the stock in the line', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { variants: [{ stock: 5 }] })
  const variantId = product.variants[0].id
  const buyer = await shopper(env)
  const results = await Promise.all(Array.from({ length: 12 }, () => addToCart(env, buyer, variantId, 1)))
  t.equal(results.filter((r) => r.statusCode === 200).length, 5, 'five adds of one fit in a stock of five')
  t.ok(results.filter((r) => r.statusCode !== 200).every((r) => r.statusCode === 409 && r.json().code === 'OUT_OF_STOCK'), 'the others are OUT_OF_STOCK')
  const rows = await rowsOf(env, buyer)
  t.equal(rows.length, 1, 'one line')
  t.equal(rows[0]!.quantity, 5, 'holding exactly the stock')
})

t.test('PATCH sets a quantity, DELETE removes a line or the whole cart; another customer\'s cart is out of reach', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const tee = await createProduct(env, store, { title: 'Tee', variants: [{ stock: 20 }] })
  const cap = await createProduct(env, store, { title: 'Cap', variants: [{ stock: 20 }] })
  const alice = await shopper(env)
  const bob = await shopper(env)
  await addToCart(env, alice, tee.variants[0].id, 1)
  await addToCart(env, alice, cap.variants[0].id, 2)
  await addToCart(env, bob, tee.variants[0].id, 7)
  const [aliceTee, aliceCap] = await rowsOf(env, alice)
  const [bobTee] = await rowsOf(env, bob)

  const bobsView = (await cartOf(env, bob)).json()
  t.same(bobsView.items.map((i: any) => [i.id, i.quantity]), [[bobTee!.id, 7]], 'Bob sees only his own line')
  t.same((await cartOf(env, alice)).json().items.map((i: any) => i.id), [aliceTee!.id, aliceCap!.id], 'Alice sees only hers')

  const set = await setQuantity(env, alice, aliceTee!.id, 4)
  t.equal(set.statusCode, 200)
  t.same(set.json().items.map((i: any) => [i.title, i.quantity]), [['Tee', 4], ['Cap', 2]], 'PATCH sets (not adds) the quantity')
  t.equal(set.json().itemCount, 6)

  const aliceBefore = await rowsOf(env, alice)
  for (const attempt of [() => setQuantity(env, bob, aliceTee!.id, 1), () => removeLine(env, bob, aliceCap!.id)]) {
    const res = await attempt()
    t.equal(res.statusCode, 404, 'another customer\'s line: 404')
    t.equal(res.json().code, 'NOT_FOUND')
  }
  t.same(await rowsOf(env, alice), aliceBefore, 'Alice\'s cart unchanged by Bob')
  t.equal((await setQuantity(env, alice, randomUUID(), 1)).statusCode, 404, 'a made-up line: 404')

  const removed = await removeLine(env, alice, aliceTee!.id)
  t.equal(removed.statusCode, 204)
  t.equal(removed.body, '')
  t.same((await rowsOf(env, alice)).map((r) => r.id), [aliceCap!.id], 'that line is gone, the other stays')
  t.equal((await removeLine(env, alice, aliceTee!.id)).statusCode, 404, 'removing it again: 404')
  t.equal((await setQuantity(env, alice, aliceTee!.id, 2)).statusCode, 404, 'and it cannot be PATCHed back')

  const bobClears = await env.app.inject({ method: 'DELETE', url: '/cart', headers: bob.session.headers })
  t.equal(bobClears.statusCode, 204)
  t.same(await rowsOf(env, bob), [], 'Bob\'s cart is empty')
  t.same((await rowsOf(env, alice)).map((r) => [r.id, r.quantity]), [[aliceCap!.id, 2]], 'emptying his cart left Alice\'s alone')

  t.equal((await env.app.inject({ method: 'DELETE', url: '/cart', headers: alice.session.headers })).statusCode, 204)
  t.same((await cartOf(env, alice)).json(), { items: [], totals: [], summaries: [], itemCount: 0 })
  t.same(await rowsOf(env, alice), [])
  t.equal((await env.app.inject({ method: 'DELETE', url: '/cart', headers: alice.session.headers })).statusCode, 204, 'emptying an empty cart is fine')
})

t.test('bad input is a 400 naming the field, and changes nothing', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { variants: [{ stock: 2000 }] })
  const variantId = product.variants[0].id
  const buyer = await shopper(env)
  await addToCart(env, buyer, variantId, 2)
  const before = await rowsOf(env, buyer)
  const lineId = before[0]!.id

  const cases: Array<{ label: string, method: 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, pointer: string }> = [
    { label: 'quantity 0', method: 'POST', url: '/cart/items', payload: { variantId, quantity: 0 }, pointer: '/body/quantity' },
    { label: 'a negative quantity', method: 'POST', url: '/cart/items', payload: { variantId, quantity: -1 }, pointer: '/body/quantity' },
    { label: 'a fractional quantity', method: 'POST', url: '/cart/items', payload: { variantId, quantity: 1.5 }, pointer: '/body/quantity' },
    { label: 'a text quantity', method: 'POST', url: '/cart/items', payload: { variantId, quantity: 'two' }, pointer: '/body/quantity' },
    { label: 'more than 999', method: 'POST', url: '/cart/items', payload: { variantId, quantity: 1000 }, pointer: '/body/quantity' },
    { label: 'no quantity', method: 'POST', url: '/cart/items', payload: { variantId }, pointer: '/body/quantity' },
    { label: 'no variantId', method: 'POST', url: '/cart/items', payload: { quantity: 1 }, pointer: '/body/variantId' },
    { label: 'a variantId that is not a uuid', method: 'POST', url: '/cart/items', payload: { variantId: 'shirt-m', quantity: 1 }, pointer: '/body/variantId' },
    { label: 'an unknown field', method: 'POST', url: '/cart/items', payload: { variantId, quantity: 1, price: 1 }, pointer: '/body/price' },
    { label: 'PATCH quantity 0', method: 'PATCH', url: `/cart/items/${lineId}`, payload: { quantity: 0 }, pointer: '/body/quantity' },
    { label: 'PATCH a negative quantity', method: 'PATCH', url: `/cart/items/${lineId}`, payload: { quantity: -3 }, pointer: '/body/quantity' },
    { label: 'PATCH a fractional quantity', method: 'PATCH', url: `/cart/items/${lineId}`, payload: { quantity: 1.5 }, pointer: '/body/quantity' },
    { label: 'PATCH without quantity', method: 'PATCH', url: `/cart/items/${lineId}`, payload: {}, pointer: '/body/quantity' },
    { label: 'PATCH a line id that is not a uuid', method: 'PATCH', url: '/cart/items/first', payload: { quantity: 1 }, pointer: '/params/id' },
    { label: 'DELETE a line id that is not a uuid', method: 'DELETE', url: '/cart/items/first', pointer: '/params/id' }
  ]
  for (const c of cases) {
    const res = await env.app.inject({ method: c.method, url: c.url, headers: buyer.session.headers, ...(c.payload !== undefined ? { payload: c.payload as object } : {}) })
    t.equal(res.statusCode, 400, `${c.label}: 400`)
    t.match(res.headers['content-type'], /application\/problem\+json/)
    t.equal(res.json().code, 'VALIDATION_FAILED', `${c.label}: VALIDATION_FAILED`)
    t.ok(res.json().errors?.some((e: any) => e.pointer === c.pointer), `${c.label}: names ${c.pointer} (got ${JSON.stringify(res.json().errors)})`)
  }
  const malformed = await env.app.inject({ method: 'POST', url: '/cart/items', headers: { ...buyer.session.headers, 'content-type': 'application/json' }, payload: '{"variantId":' })
  t.equal(malformed.statusCode, 400, 'malformed JSON: 400')
  t.same(await rowsOf(env, buyer), before, 'the cart is exactly as it was')

  // A line never holds more than PATCH could set (999), even when built by adding to it.
  t.equal((await setQuantity(env, buyer, lineId, 999)).statusCode, 200, '999 is allowed')
  const over = await addToCart(env, buyer, variantId, 1)
  t.equal(over.statusCode, 409, 'adding past 999: 409')
  t.equal(over.json().code, 'QUANTITY_LIMIT')
  t.ok(over.json().errors?.some((e: any) => e.pointer === '/body/quantity'), 'names /body/quantity')
  t.equal((await rowsOf(env, buyer))[0]!.quantity, 999, 'the line keeps its 999')
})

t.test('only variants on sale can be added: not of an inactive or deleted product, a retired variant, or an unapproved vendor', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const unapproved = await approvedStore(env, { approved: false })
  const inactive = await createProduct(env, store, { title: 'Hidden', isActive: false, variants: [{ stock: 5 }] })
  const deleted = await createProduct(env, store, { title: 'Gone', variants: [{ stock: 5 }] })
  t.equal((await env.app.inject({ method: 'DELETE', url: `/workspaces/${store.workspaceId}/products/${deleted.id}`, headers: store.owner.headers })).statusCode, 204)
  const resized = await createProduct(env, store, { title: 'Resized', variants: [{ size: 'S', sku: 'RS-S', stock: 5 }, { size: 'M', sku: 'RS-M', stock: 5 }] })
  const [retired, kept] = resized.variants
  t.equal((await patchProduct(env, store, resized.id, { variants: [{ id: kept.id, size: 'M', sku: 'RS-M', stock: 5 }] })).statusCode, 200, 'the S variant is retired')
  const pending = await createProduct(env, unapproved, { title: 'Pending vendor', variants: [{ stock: 5 }] })
  const buyer = await shopper(env)

  // The service answers 404, as GET /products/:id does for the same products: a variant that
  // is not on sale does not exist for a customer, and its existence is not revealed.
  const offSale: Array<[string, string]> = [
    ['an inactive product', inactive.variants[0].id],
    ['a deleted product', deleted.variants[0].id],
    ['a retired variant', retired.id],
    ['an unapproved vendor\'s product', pending.variants[0].id],
    ['a made-up variant', randomUUID()]
  ]
  for (const [label, variantId] of offSale) {
    const res = await addToCart(env, buyer, variantId, 1)
    t.equal(res.statusCode, 404, `${label}: 404`)
    t.equal(res.json().code, 'NOT_FOUND', `${label}: NOT_FOUND`)
    t.ok(res.json().errors?.some((e: any) => e.pointer === '/body/variantId'), `${label}: names /body/variantId`)
  }
  t.same(await rowsOf(env, buyer), [], 'nothing was added')
  t.equal((await addToCart(env, buyer, kept.id, 1)).statusCode, 200, 'the kept variant still sells')
})

t.test('a line whose product leaves the catalog stays visible as unavailable, cannot grow, and can be removed', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { price: 1500, variants: [{ stock: 5 }] })
  const variantId = product.variants[0].id
  const buyer = await shopper(env)
  await addToCart(env, buyer, variantId, 2)
  const [line] = await rowsOf(env, buyer)

  t.equal((await patchProduct(env, store, product.id, { isActive: false })).statusCode, 200)
  const cart = (await cartOf(env, buyer)).json()
  t.match(cart.items, [{ id: line!.id, variantId, quantity: 2, available: false }], 'shown, marked unavailable')

  const add = await addToCart(env, buyer, variantId, 1)
  t.equal(add.statusCode, 404, 'adding more is refused like any off-sale variant')
  const patch = await setQuantity(env, buyer, line!.id, 1)
  t.equal(patch.statusCode, 409, 'changing its quantity: 409 (the line exists; its product is not on sale)')
  t.equal(patch.json().code, 'PRODUCT_UNAVAILABLE')
  t.same(await rowsOf(env, buyer), [{ id: line!.id, variantId, quantity: 2 }], 'the line is unchanged')

  t.equal((await patchProduct(env, store, product.id, { isActive: true })).statusCode, 200)
  t.match((await cartOf(env, buyer)).json().items, [{ id: line!.id, available: true }], 'back on sale, back available')
  t.equal((await patchProduct(env, store, product.id, { isActive: false })).statusCode, 200)
  t.equal((await removeLine(env, buyer, line!.id)).statusCode, 204, 'an unavailable line can be removed')
  t.same(await rowsOf(env, buyer), [])
})
