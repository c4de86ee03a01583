import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import type { TestEnv } from '../../helpers/app.ts'
import { addToCart, applyCode, approvedStore, checkout, createProduct, createPromotion, platformAdmin, shopper, type Shopper, type Store } from '../../helpers/commerce.ts'
import { paymentEnv } from '../../helpers/payments.ts'
import { adminHeaders, createShippingRate, createTaxRate, type RateInput } from '../../helpers/rates.ts'
import type { StripeDouble } from '../../helpers/stripe-double.ts'

// Totals end to end (issue 14, plan §3.6): real shipping and tax rates made through their
// routes, a cart priced by GET /cart, then POST /orders. For every case: the cart's summary
// equals the checkout's totals, the order and item rows hold every totals column, the
// PaymentIntent (Stripe double) charges the checkout total, and the rounding rules of §3 hold.
//
// Every case is one row of CASES; a row's `prepare` applies its promotion code or sets a
// commission override through their routes. The reference cart of example A comes first, whole
// (its code TEN: total 9669), then without the code, then one row per rounding rule.

interface Line { store: number, price: number, quantity: number }
interface Destination { country: string, state?: string }
interface ExpectedOrder {
  subtotal: number
  /** The order's part of a promotion's discount, and of it what the platform funds (0 without a code). */
  discount: number
  platformFunded: number
  shipping: number
  /** The rate's name (null: ships free without rates). */
  rate: string | null
  lineTaxes: number[]
  tax: number
  total: number
  commission: number
  commissionBps: number
}
interface Case {
  name: string
  /** Shipping rates of each store (index = store). */
  rates: RateInput[][]
  lines: Line[]
  destination: Destination
  /**
   * Done before the cart is read: where a row applies its promotion code (WP2) or sets a store's
   * commission override (WP4), through their routes. `stores` in the order of `rates`.
   */
  prepare?: (env: TestEnv, buyer: Shopper, stores: Store[]) => Promise<void>
  /** Per store, in store order. */
  orders: ExpectedOrder[]
  taxInclusive: boolean
  /** The tax rate's bps on the orders (null: untaxed). */
  taxRateBps: number | null
  total: number
}

// The platform's tax rates, the same for every row (plan §3.6 A, plus GB VAT included).
const TAX_RATES = [
  { country: 'US', region: 'CA', rateBps: 725, name: 'California' },
  { country: 'US', rateBps: 500, name: 'US' },
  { country: 'GB', rateBps: 2000, inclusive: true, name: 'VAT' }
]
const CA = { country: 'US', state: 'ca' }
const REFERENCE_RATES: RateInput[][] = [
  [{ name: 'Flat US', amount: 500, countries: ['US'] }, { name: 'Free over 50', kind: 'free_over', amount: 700, freeOver: 5000 }],
  [{ name: 'Free over 30', kind: 'free_over', amount: 600, freeOver: 3000 }]
]
const order = (o: Partial<ExpectedOrder> & Pick<ExpectedOrder, 'subtotal' | 'total'>): ExpectedOrder =>
  ({ discount: 0, platformFunded: 0, shipping: 0, rate: null, lineTaxes: [], tax: 0, commission: Math.floor((o.subtotal + (o.shipping ?? 0) + 5) / 10), commissionBps: 1000, ...o })

const CASES: Case[] = [
  {
    // Example A whole (plan §3.6 A): the platform's code TEN (10 %, platform-funded, at least
    // 5000 usd) on the two-store cart to US-CA. D = 10 % of 9499 = 949.9 → 950, split 550/400 by
    // largest remainder (B's .9421 beats A's .0579); A's 550 over its lines 400/150. A's base 4950
    // falls below its free-over 5000, so the flat 500 applies; B's 3599 stays over 3000. Tax per
    // line after its discount: 3600 → 261, 1350 → 97.875 → 98, 3599 → 260.93 → 261. The platform
    // funds the discount, so commission is on the undiscounted goods and the shipping: A 10 % of
    // 5500 + 500 = 600; B, overridden to 1250 bps, 499.875 → 500. Vendor shares (total −
    // commission + platform-funded): 5759, 3760.
    name: 'reference cart (example A) with its platform-funded code: discount, shipping and tax together',
    rates: REFERENCE_RATES,
    lines: [{ store: 0, price: 2000, quantity: 2 }, { store: 0, price: 1500, quantity: 1 }, { store: 1, price: 1333, quantity: 3 }],
    destination: CA,
    prepare: async (env, buyer, stores) => {
      const ten = await createPromotion(env, 'platform', { percentBps: 1000, minSubtotal: { amount: 5000, currency: 'usd' }, fundedBy: 'platform' })
      const applied = await applyCode(env, buyer, ten.code)
      if (applied.statusCode !== 200) throw new Error(`TEN not applied: ${applied.statusCode} ${applied.body}`)
      // B's commission is overridden to 12.5 % by a platform admin: 3999 × 1250 bps = 499.875 → 500.
      const admin = await platformAdmin(env)
      const set = await env.app.inject({ method: 'PUT', url: `/admin/workspaces/${stores[1]!.workspaceId}/commission`, headers: admin.headers, payload: { commissionBps: 1250 } })
      if (set.statusCode !== 200) throw new Error(`override not set: ${set.statusCode} ${set.body}`)
    },
    orders: [
      order({ subtotal: 5500, discount: 550, platformFunded: 550, shipping: 500, rate: 'Flat US', lineTaxes: [261, 98], tax: 359, total: 5809, commission: 600 }),
      order({ subtotal: 3999, discount: 400, platformFunded: 400, shipping: 0, rate: 'Free over 30', lineTaxes: [261], tax: 261, total: 3860, commission: 500, commissionBps: 1250 })
    ],
    taxInclusive: false,
    taxRateBps: 725,
    total: 9669
  },
  {
    // Example A without its code: A 2×2000 + 1×1500, B 3×1333, to US-CA (725 beats US's 500).
    // A's 5500 reaches the free-over threshold (0 beats the flat 500); B's 3999 is over 3000.
    name: 'reference cart (example A, no code yet)',
    rates: REFERENCE_RATES,
    lines: [{ store: 0, price: 2000, quantity: 2 }, { store: 0, price: 1500, quantity: 1 }, { store: 1, price: 1333, quantity: 3 }],
    destination: CA,
    orders: [
      // 4000 × 7.25 % = 290; 1500 × 7.25 % = 108.75 → 109
      order({ subtotal: 5500, shipping: 0, rate: 'Free over 50', lineTaxes: [290, 109], tax: 399, total: 5899, commission: 550 }),
      // 3999 × 7.25 % = 289.9275 → 290; commission 399.9 → 400
      order({ subtotal: 3999, shipping: 0, rate: 'Free over 30', lineTaxes: [290], tax: 290, total: 4289, commission: 400 })
    ],
    taxInclusive: false,
    taxRateBps: 725,
    total: 10188
  },
  {
    name: 'flat beats free-over below its threshold; exclusive tax 1350 at 725 = 97.875 → 98',
    rates: REFERENCE_RATES,
    lines: [{ store: 0, price: 1350, quantity: 1 }],
    destination: CA,
    orders: [order({ subtotal: 1350, shipping: 500, rate: 'Flat US', lineTaxes: [98], tax: 98, total: 1948, commission: 185 })],
    taxInclusive: false,
    taxRateBps: 725,
    total: 1948
  },
  {
    name: 'free over is inclusive: an order at its threshold ships free',
    rates: [[{ name: 'Free over 50', kind: 'free_over', amount: 700, freeOver: 5000 }]],
    lines: [{ store: 0, price: 2500, quantity: 2 }],
    destination: { country: 'FR' },
    orders: [order({ subtotal: 5000, shipping: 0, rate: 'Free over 50', total: 5000, commission: 500 })],
    taxInclusive: false,
    taxRateBps: null,
    total: 5000
  },
  {
    name: 'free over: one unit below the threshold pays the rate',
    rates: [[{ name: 'Free over 50', kind: 'free_over', amount: 700, freeOver: 5000 }]],
    lines: [{ store: 0, price: 4999, quantity: 1 }],
    destination: { country: 'FR' },
    orders: [order({ subtotal: 4999, shipping: 700, rate: 'Free over 50', total: 5699, commission: 570 })],
    taxInclusive: false,
    taxRateBps: null,
    total: 5699
  },
  {
    // Lines of 10, 10 and 1000 at 5 %: 0.5 → 1 twice and 50, so 52, where the order's 1020 × 5 % would be 51.
    name: 'tax is rounded half up per line (region without a rate falls back to the country)',
    rates: [[]],
    lines: [{ store: 0, price: 10, quantity: 1 }, { store: 0, price: 10, quantity: 1 }, { store: 0, price: 1000, quantity: 1 }],
    destination: { country: 'US', state: 'NY' },
    orders: [order({ subtotal: 1020, lineTaxes: [1, 1, 50], tax: 52, total: 1072, commission: 102 })],
    taxInclusive: false,
    taxRateBps: 500,
    total: 1072
  },
  {
    // 1999 × 2000 / 12000 = 333.17 → 333 inside the price; 3 × 2000 / 12000 = 0.5 → 1. Shipping is not taxed.
    name: 'inclusive tax (GB VAT 20 %) is extracted per line and not added; shipping untaxed',
    rates: [[{ name: 'Royal Mail', amount: 300, countries: ['GB'] }]],
    lines: [{ store: 0, price: 1999, quantity: 1 }, { store: 0, price: 3, quantity: 1 }],
    destination: { country: 'gb', state: 'London' },
    orders: [order({ subtotal: 2002, shipping: 300, rate: 'Royal Mail', lineTaxes: [333, 1], tax: 334, total: 2302, commission: 197 })],
    taxInclusive: true,
    taxRateBps: 2000,
    total: 2302
  },
  {
    name: 'no tax rate for the country: untaxed; the country filter picks the worldwide rate',
    rates: [[{ name: 'US only', amount: 100, countries: ['US'] }, { name: 'World', amount: 900 }]],
    lines: [{ store: 0, price: 1000, quantity: 1 }],
    destination: { country: 'DE' },
    orders: [order({ subtotal: 1000, shipping: 900, rate: 'World', total: 1900, commission: 190 })],
    taxInclusive: false,
    taxRateBps: null,
    total: 1900
  }
]

async function ensureTaxRates (env: TestEnv): Promise<void> {
  const existing = await env.app.db.selectFrom('taxRates').select('id').where('deletedAt', 'is', null).execute()
  if (existing.length > 0) return
  const headers = await adminHeaders(env)
  for (const rate of TAX_RATES) await createTaxRate(env, headers, rate)
}

async function run (t: Test, env: TestEnv, stripe: StripeDouble, c: Case): Promise<void> {
  await ensureTaxRates(env)
  const stores: Store[] = []
  for (const rates of c.rates) {
    const store = await approvedStore(env)
    for (const rate of rates) await createShippingRate(env, store, rate)
    stores.push(store)
  }
  const buyer = await shopper(env)
  const lineIds: string[] = []
  for (const line of c.lines) {
    const product = await createProduct(env, stores[line.store]!, { price: line.price, variants: [{ stock: 50 }] })
    lineIds.push(product.variants[0].id)
    const added = await addToCart(env, buyer, product.variants[0].id, line.quantity)
    t.equal(added.statusCode, 200, added.body)
  }
  if (c.prepare) await c.prepare(env, buyer, stores)

  const query = `?country=${c.destination.country}${c.destination.state ? `&region=${encodeURIComponent(c.destination.state)}` : ''}`
  const cart = await env.app.inject({ method: 'GET', url: `/cart${query}`, headers: buyer.session.headers })
  t.equal(cart.statusCode, 200, cart.body)
  const [summary] = cart.json().summaries
  t.same(summary.issues, [], 'the cart sees no issue')

  const address = { street: '1 Main St', city: 'Somewhere', zipCode: '00001', country: c.destination.country, ...(c.destination.state ? { state: c.destination.state } : {}) }
  const res = await checkout(env, buyer, `key-${randomBytes(6).toString('hex')}`, { shippingAddress: address })
  t.equal(res.statusCode, 201, res.body)
  const body = res.json()
  const { currency: _c, destination: _d, promotion: _p, issues: _i, ...cartTotals } = summary
  t.same(cartTotals, body.totals, 'the cart\'s summary equals the checkout\'s totals')

  const usd = (amount: number) => ({ amount, currency: 'usd' })
  const sum = (f: (o: ExpectedOrder) => number) => c.orders.reduce((n, o) => n + f(o), 0)
  t.same(body.totals, {
    subtotal: usd(sum((o) => o.subtotal)), discount: usd(sum((o) => o.discount)), shipping: usd(sum((o) => o.shipping)), tax: usd(sum((o) => o.tax)), taxInclusive: c.taxInclusive, total: usd(c.total)
  }, 'the checkout totals')

  const rows = await env.app.db.selectFrom('orders').selectAll().where('checkoutId', '=', body.checkoutId).execute()
  t.equal(rows.length, c.orders.length, 'one order per store')
  for (const [i, expected] of c.orders.entries()) {
    const row = rows.find((r) => r.workspaceId === stores[i]!.workspaceId)
    if (!row) { t.fail(`no order for store ${i}`); continue }
    const rateId = expected.rate === null
      ? null
      : (await env.app.db.selectFrom('shippingRates').select('id').where('workspaceId', '=', row.workspaceId).where('name', '=', expected.rate).executeTakeFirstOrThrow()).id
    t.same({
      subtotal: row.subtotalAmount,
      discount: row.discountAmount,
      platformFunded: row.platformFundedDiscount,
      shipping: row.shippingAmount,
      rateId: row.shippingRateId,
      rateName: row.shippingRateName,
      tax: row.taxAmount,
      taxInclusive: row.taxInclusive,
      taxRateBps: row.taxRateBps,
      total: row.totalAmount,
      commissionBps: row.commissionBps,
      commission: row.commissionAmount,
      promoted: row.promotionId !== null
    }, {
      subtotal: expected.subtotal,
      discount: expected.discount,
      platformFunded: expected.platformFunded,
      shipping: expected.shipping,
      rateId,
      rateName: expected.rate,
      tax: expected.tax,
      taxInclusive: c.taxInclusive,
      taxRateBps: c.taxRateBps,
      total: expected.total,
      commissionBps: expected.commissionBps,
      commission: expected.commission,
      promoted: expected.discount > 0
    }, `order of store ${i}: every column`)
    const items = await env.app.db.selectFrom('orderItems').select(['variantId', 'taxAmount', 'discountAmount']).where('orderId', '=', row.id).execute()
    const ofStore = c.lines.map((l, j) => ({ ...l, variantId: lineIds[j] })).filter((l) => l.store === i)
    if (expected.lineTaxes.length > 0) {
      t.same(ofStore.map((l) => items.find((it) => it.variantId === l.variantId)?.taxAmount), expected.lineTaxes, `order of store ${i}: each item's tax, per line`)
    }
    t.equal(items.reduce((n, it) => n + it.taxAmount, 0), expected.tax, 'the order\'s tax is its items\'')
    t.equal(items.reduce((n, it) => n + it.discountAmount, 0), expected.discount, 'the order\'s discount is its items\'')
    const view = body.orders.find((o: { workspaceId: string }) => o.workspaceId === row.workspaceId)
    t.same(view.totals.total, usd(expected.total), 'the order in the answer shows its total')
    t.equal(view.shippingMethod, expected.rate)
  }
  const stored = await env.app.db.selectFrom('checkouts').select(['subtotalAmount', 'discountAmount', 'shippingAmount', 'taxAmount', 'taxInclusive', 'totalAmount']).where('id', '=', body.checkoutId).executeTakeFirstOrThrow()
  t.same(stored, { subtotalAmount: sum((o) => o.subtotal), discountAmount: sum((o) => o.discount), shippingAmount: sum((o) => o.shipping), taxAmount: sum((o) => o.tax), taxInclusive: c.taxInclusive, totalAmount: c.total }, 'the checkout row holds the sums')
  t.equal(stripe.intents.get(body.payment.paymentIntentId)?.amount, c.total, 'the PaymentIntent charges the checkout total')
  t.equal(body.total.amount, c.total)
}

t.test('each case end to end: cart summary = checkout totals = order rows = PaymentIntent amount', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  for (const c of CASES) await t.test(c.name, async (t) => run(t, env, stripe, c))
})
