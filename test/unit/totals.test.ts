import t from 'tap'
import {
  computeTotals, type Destination, type PricedCheckout, type PricingContext, type PricingLine, type PromotionTerms, type ShippingRateTerms, type TaxRateTerms
} from '../../src/modules/pricing/public.ts'

// computeTotals (issue 14, plan §3): the reference multi-vendor cart of plan §3.6 A priced in
// full, then one row per rule (promotion reach and limits, shipping choice, tax modes).

const WA = '00000000-0000-7000-8000-00000000000a'
const WB = '00000000-0000-7000-8000-00000000000b'
const CA: Destination = { country: 'US', region: 'CA' }

const line = (lineId: string, workspaceId: string, unitAmount: number, quantity: number, currency = 'usd'): PricingLine =>
  ({ lineId, workspaceId, variantId: `v-${lineId}`, currency, unitAmount, quantity, lineAmount: unitAmount * quantity })
/** The reference cart: store A 2×2000 + 1×1500, store B 3×1333. */
const reference = [line('a1', WA, 2000, 2), line('a2', WA, 1500, 1), line('b1', WB, 1333, 3)]

const TEN: PromotionTerms = { id: 'p-ten', code: 'TEN', workspaceId: null, kind: 'percent', percentBps: 1000, amountOff: null, currency: 'usd', minSubtotal: 5000, fundedBy: 'platform' }
const rate = (id: string, workspaceId: string, kind: 'flat' | 'free_over', amount: number, freeOverAmount: number | null, countries: string[] = [], currency = 'usd'): ShippingRateTerms =>
  ({ id, workspaceId, name: `rate ${id}`, currency, kind, amount, freeOverAmount, countries })
const RATES = [rate('r-a-flat', WA, 'flat', 500, null, ['US']), rate('r-a-free', WA, 'free_over', 700, 5000), rate('r-b-free', WB, 'free_over', 600, 3000)]
const tax = (id: string, country: string, region: string | null, rateBps: number, inclusive = false): TaxRateTerms => ({ id, country, region, rateBps, inclusive, name: id })
const TAXES = [tax('t-ca', 'US', 'CA', 725), tax('t-us', 'US', null, 500)]

const context = (overrides: Partial<PricingContext> = {}): PricingContext => ({
  promotion: TEN,
  shippingRates: RATES,
  workspacesWithRates: new Set([WA, WB]),
  taxRates: TAXES,
  commissionBps: new Map([[WA, 1000], [WB, 1250]]),
  ...overrides
})

t.test('the reference cart (plan §3.6 A): every field of every order', async (t) => {
  const priced = computeTotals(reference, context(), CA)
  t.same(priced, {
    currency: 'usd',
    orders: [{
      workspaceId: WA,
      currency: 'usd',
      lines: [{ lineId: 'a1', lineAmount: 4000, discount: 400, tax: 261 }, { lineId: 'a2', lineAmount: 1500, discount: 150, tax: 98 }],
      subtotal: 5500,
      discount: 550,
      platformFundedDiscount: 550,
      shipping: 500,
      shippingRate: { id: 'r-a-flat', name: 'rate r-a-flat' },
      tax: 359,
      taxInclusive: false,
      total: 5809,
      commissionBps: 1000,
      // 10 % of the goods as if undiscounted (5500) and of the shipping (500)
      commission: 600,
      vendorShare: 5759
    }, {
      workspaceId: WB,
      currency: 'usd',
      lines: [{ lineId: 'b1', lineAmount: 3999, discount: 400, tax: 261 }],
      subtotal: 3999,
      discount: 400,
      platformFundedDiscount: 400,
      shipping: 0,
      shippingRate: { id: 'r-b-free', name: 'rate r-b-free' },
      tax: 261,
      taxInclusive: false,
      total: 3860,
      commissionBps: 1250,
      commission: 500,
      vendorShare: 3760
    }],
    subtotal: 9499,
    discount: 950,
    shipping: 500,
    tax: 620,
    taxInclusive: false,
    total: 9669,
    promotion: { id: 'p-ten', code: 'TEN', discount: 950, fundedBy: 'platform' },
    taxRate: { id: 't-ca', rateBps: 725, inclusive: false },
    issues: []
  } satisfies PricedCheckout)
  // What the platform keeps is what the charge holds beyond the vendors' shares.
  t.equal(priced.total - priced.orders.reduce((n, o) => n + o.vendorShare, 0), 1100 - 950, 'platform net = commission − platform-funded discount')
})

interface Row {
  name: string
  lines?: PricingLine[]
  ctx?: Partial<PricingContext>
  destination?: Destination | null
  chosen?: string[]
  /** Expected, per order in workspace-id order, then for the checkout. */
  orders: Array<Partial<{ subtotal: number, discount: number, platformFundedDiscount: number, shipping: number, shippingRate: string | null, tax: number, total: number, commission: number, vendorShare: number, lineDiscounts: number[], lineTaxes: number[] }>>
  checkout?: Partial<Pick<PricedCheckout, 'total' | 'discount' | 'tax' | 'taxInclusive' | 'issues'>> & { promotion?: string | null }
}

const vendorFunded: PromotionTerms = { ...TEN, fundedBy: 'vendor' }
/** One store's line of 12000 with 20 % VAT included (GB), nothing shipped. */
const GB_VAT = {
  lines: [line('a1', WA, 12000, 1)],
  ctx: { shippingRates: [], workspacesWithRates: new Set<string>(), taxRates: [tax('t-gb', 'GB', null, 2000, true)] },
  destination: { country: 'GB', region: null }
}
const rows: Row[] = [
  {
    name: 'no promotion: no discount, commission on the whole subtotal',
    ctx: { promotion: null },
    orders: [{ discount: 0, shipping: 0, tax: 399, total: 5500 + 399, commission: 550, vendorShare: 5899 - 550 }, { discount: 0, shipping: 0, tax: 290, total: 3999 + 290, commission: 500 }],
    checkout: { discount: 0, promotion: null, issues: [] }
  },
  {
    name: 'a vendor-funded platform code: the vendor pays the discount, commission on what is left',
    ctx: { promotion: vendorFunded },
    orders: [{ discount: 550, platformFundedDiscount: 0, total: 5809, commission: 545, vendorShare: 5809 - 545 }, { discount: 400, platformFundedDiscount: 0, total: 3860, commission: 450, vendorShare: 3860 - 450 }]
  },
  {
    name: 'a workspace code covers only its workspace\'s lines',
    ctx: { promotion: { ...TEN, id: 'p-b', code: 'BONLY', workspaceId: WB, fundedBy: 'vendor', minSubtotal: null, currency: null } },
    orders: [{ discount: 0, lineDiscounts: [0, 0] }, { discount: 400, lineDiscounts: [400] }],
    checkout: { discount: 400, promotion: 'BONLY' }
  },
  {
    name: 'a fixed code larger than what it covers takes it all, never more',
    ctx: { promotion: { ...TEN, kind: 'fixed', percentBps: null, amountOff: 50_000, minSubtotal: null, workspaceId: WB, fundedBy: 'vendor' } },
    destination: null,
    orders: [{ discount: 0, total: 5500 }, { discount: 3999, total: 0, commission: 0, vendorShare: 0 }],
    checkout: { discount: 3999, total: 5500 }
  },
  {
    name: 'a fixed code is split over orders by subtotal, largest remainder',
    ctx: { promotion: { ...TEN, kind: 'fixed', percentBps: null, amountOff: 1000, minSubtotal: null } },
    destination: null,
    orders: [{ discount: 579, lineDiscounts: [421, 158] }, { discount: 421, lineDiscounts: [421] }],
    checkout: { discount: 1000 }
  },
  {
    name: 'a minimum subtotal just missed: not applicable, prices without it',
    lines: [line('a1', WA, 4999, 1)],
    ctx: { promotion: { ...TEN, minSubtotal: 5000 } },
    destination: null,
    orders: [{ discount: 0, total: 4999 }],
    checkout: { promotion: null, issues: [{ code: 'PROMOTION_NOT_APPLICABLE', reason: 'min_subtotal' }] }
  },
  {
    name: 'a minimum subtotal just met applies',
    lines: [line('a1', WA, 5000, 1)],
    destination: null,
    orders: [{ discount: 500, total: 4500 }],
    checkout: { promotion: 'TEN', issues: [] }
  },
  {
    name: 'a code of another currency is not applicable',
    lines: [line('a1', WA, 9000, 1, 'eur')],
    ctx: { shippingRates: [], workspacesWithRates: new Set() },
    orders: [{ discount: 0, total: 9000 + 653 }],
    checkout: { issues: [{ code: 'PROMOTION_NOT_APPLICABLE', reason: 'currency' }] }
  },
  {
    name: 'a workspace code with none of its lines in the cart is not applicable',
    lines: [line('a1', WA, 9000, 1)],
    ctx: { promotion: { ...TEN, workspaceId: WB, minSubtotal: null, currency: null, fundedBy: 'vendor' } },
    destination: null,
    orders: [{ discount: 0 }],
    checkout: { issues: [{ code: 'PROMOTION_NOT_APPLICABLE', reason: 'no_eligible_lines' }] }
  },
  {
    name: 'a code the cart holds that can no longer be used (expired, used up…): unavailable, prices without it',
    lines: [line('a1', WA, 9000, 1)],
    ctx: { promotion: { ...TEN, minSubtotal: null, unavailable: 'exhausted' } },
    destination: null,
    orders: [{ discount: 0, total: 9000 }],
    checkout: { promotion: null, issues: [{ code: 'PROMOTION_UNAVAILABLE', reason: 'exhausted' }] }
  },
  {
    name: 'inclusive tax (GB 20 %): inside the price, not added; commission excludes it',
    lines: [line('a1', WA, 1999, 1)],
    ctx: { promotion: null, shippingRates: [], workspacesWithRates: new Set(), taxRates: [tax('t-gb', 'GB', null, 2000, true)] },
    destination: { country: 'GB', region: null },
    orders: [{ tax: 333, total: 1999, commission: 167, vendorShare: 1999 - 167, lineTaxes: [333] }],
    checkout: { taxInclusive: true, tax: 333, total: 1999 }
  },
  {
    name: 'a region without its own rate falls back to the country\'s',
    ctx: { promotion: null, shippingRates: [], workspacesWithRates: new Set() },
    destination: { country: 'US', region: 'NY' },
    orders: [{ lineTaxes: [200, 75], tax: 275 }, { lineTaxes: [200], tax: 200 }],
    checkout: { tax: 475, total: 9499 + 475 }
  },
  {
    name: 'no rates at all: free shipping and no tax',
    ctx: { promotion: null, shippingRates: [], workspacesWithRates: new Set(), taxRates: [] },
    orders: [{ shipping: 0, shippingRate: null, tax: 0, total: 5500 }, { shipping: 0, shippingRate: null, tax: 0, total: 3999 }],
    checkout: { total: 9499, tax: 0 }
  },
  {
    name: 'rates but none eligible for the destination: not shippable',
    ctx: { promotion: null, taxRates: [], shippingRates: [rate('r-a-flat', WA, 'flat', 500, null, ['US'])], workspacesWithRates: new Set([WA]) },
    destination: { country: 'FR', region: null },
    orders: [{ shipping: 0, shippingRate: null }, { shipping: 0, shippingRate: null }],
    checkout: { issues: [{ code: 'NOT_SHIPPABLE', workspaceId: WA }] }
  },
  {
    name: 'a chosen rate beats the cheapest (free over 5000 here)',
    ctx: { promotion: null, taxRates: [] },
    chosen: ['r-a-flat'],
    orders: [{ shipping: 500, shippingRate: 'r-a-flat' }, { shipping: 0, shippingRate: 'r-b-free' }],
    checkout: { issues: [] }
  },
  {
    name: 'a chosen rate that does not apply is unavailable',
    ctx: { promotion: null, taxRates: [] },
    destination: { country: 'FR', region: null },
    chosen: ['r-a-flat', 'r-unknown'],
    orders: [{ shipping: 0, shippingRate: 'r-a-free' }, { shipping: 0, shippingRate: 'r-b-free' }],
    checkout: { issues: [{ code: 'SHIPPING_RATE_UNAVAILABLE', rateId: 'r-a-flat' }, { code: 'SHIPPING_RATE_UNAVAILABLE', rateId: 'r-unknown' }] }
  },
  {
    // At most one rate per store: a second one for the same store is not taken over the first.
    name: 'two chosen rates of one store: the second is unavailable',
    ctx: { promotion: null, taxRates: [] },
    chosen: ['r-a-free', 'r-a-flat'],
    orders: [{ shipping: 0, shippingRate: 'r-a-free' }, { shipping: 0, shippingRate: 'r-b-free' }],
    checkout: { issues: [{ code: 'SHIPPING_RATE_UNAVAILABLE', rateId: 'r-a-flat' }] }
  },
  {
    name: 'free over a threshold is inclusive, measured after the discount',
    lines: [line('a1', WA, 5000, 1)],
    ctx: { promotion: null, taxRates: [], shippingRates: [rate('r-a-free', WA, 'free_over', 700, 5000)] },
    orders: [{ shipping: 0, shippingRate: 'r-a-free' }]
  },
  {
    name: 'one unit under the threshold pays',
    lines: [line('a1', WA, 4999, 1)],
    ctx: { promotion: null, taxRates: [], shippingRates: [rate('r-a-free', WA, 'free_over', 700, 5000)] },
    orders: [{ shipping: 700 }]
  },
  {
    name: 'equal cheapest rates: the lowest id wins',
    lines: [line('a1', WA, 100, 1)],
    ctx: { promotion: null, taxRates: [], shippingRates: [rate('r-2', WA, 'flat', 300, null), rate('r-1', WA, 'flat', 300, null)] },
    orders: [{ shipping: 300, shippingRate: 'r-1' }]
  },
  {
    name: 'a zero tax rate taxes nothing',
    ctx: { promotion: null, shippingRates: [], workspacesWithRates: new Set(), taxRates: [tax('t-zero', 'US', null, 0)] },
    destination: { country: 'US', region: null },
    orders: [{ tax: 0, total: 5500 }, { tax: 0, total: 3999 }],
    checkout: { tax: 0 }
  },
  {
    name: 'inclusive tax, no code: commission on the goods net of their tax',
    ...GB_VAT,
    ctx: { ...GB_VAT.ctx, promotion: null },
    orders: [{ subtotal: 12000, tax: 2000, total: 12000, commission: 1000, vendorShare: 11000 }]
  },
  {
    name: 'inclusive tax and a platform-funded code: the vendor\'s commission is as if undiscounted (review WP1 finding 3)',
    ...GB_VAT,
    ctx: { ...GB_VAT.ctx, promotion: { ...TEN, percentBps: 5000, minSubtotal: null, currency: null } },
    orders: [{ discount: 6000, platformFundedDiscount: 6000, tax: 1000, total: 6000, commission: 1000, vendorShare: 11000 }]
  },
  {
    name: 'inclusive tax and a vendor-funded code: commission on what is left, net of its tax',
    ...GB_VAT,
    ctx: { ...GB_VAT.ctx, promotion: { ...vendorFunded, percentBps: 5000, minSubtotal: null, currency: null } },
    orders: [{ discount: 6000, platformFundedDiscount: 0, tax: 1000, total: 6000, commission: 500, vendorShare: 5500 }]
  },
  {
    name: 'inclusive tax and a platform-funded code over lines: each line\'s own tax, rounded per line, comes off',
    ...GB_VAT,
    lines: [line('a1', WA, 1999, 1), line('a2', WA, 1001, 3)],
    ctx: { ...GB_VAT.ctx, promotion: { ...TEN, kind: 'fixed', percentBps: null, amountOff: 1000, minSubtotal: null, currency: null } },
    // goods net of tax: 1999 − 333 + 3003 − 501 = 4168 → 416.8 → 417
    orders: [{ discount: 1000, lineDiscounts: [400, 600], lineTaxes: [267, 401], commission: 417 }]
  },
  {
    name: 'goods far above MAX_CHARGE: priced exactly (commission and tax products pass 2^53), and AMOUNT_TOO_LARGE',
    lines: Array.from({ length: 91 }, (_, i) => line(`a${i}`, WA, 99_999_999, 999)),
    ctx: { promotion: null, shippingRates: [], workspacesWithRates: new Set() },
    orders: [{ subtotal: 9_090_899_909_091, tax: 91 * 7_242_749_928, commission: 909_089_990_909 }],
    checkout: { issues: [{ code: 'AMOUNT_TOO_LARGE' }] }
  },
  {
    name: 'goods above MAX_CHARGE with a total within it (a 100 % code): still AMOUNT_TOO_LARGE, so no int4 amount column overflows (review WP1 finding 4)',
    lines: [line('a1', WA, 99_999_999, 999), line('b1', WB, 100, 1)],
    ctx: { promotion: { ...vendorFunded, id: 'p-a', code: 'FREEA', workspaceId: WA, percentBps: 10_000, minSubtotal: null, currency: null } },
    destination: null,
    orders: [{ subtotal: 99_899_999_001, discount: 99_899_999_001, total: 0 }, { subtotal: 100, total: 100 }],
    checkout: { total: 100, issues: [{ code: 'AMOUNT_TOO_LARGE' }] }
  },
  {
    name: 'goods of exactly MAX_CHARGE: no issue',
    lines: [line('a1', WA, 99_999_998, 1), line('b1', WB, 1, 1)],
    ctx: { promotion: { ...vendorFunded, percentBps: 5000, minSubtotal: null, currency: null } },
    destination: null,
    orders: [{ subtotal: 99_999_998 }, { subtotal: 1 }],
    checkout: { issues: [] }
  },
  {
    name: 'shipping counts toward the commission, tax never: goods 100 shipped for 9900 pay 10 % of 10000 (review 1 finding 3)',
    lines: [line('a1', WA, 100, 1)],
    ctx: { promotion: null, shippingRates: [rate('r-a-dear', WA, 'flat', 9900, null)], workspacesWithRates: new Set([WA]) },
    orders: [{ shipping: 9900, tax: 7, total: 10_007, commission: 1000, vendorShare: 9007 }]
  },
  {
    name: 'a total below the provider\'s least charge in its currency (usd 50): AMOUNT_TOO_SMALL with the minimum (review WP1 finding 6)',
    lines: [line('a1', WA, 49, 1)],
    ctx: { promotion: null, shippingRates: [], workspacesWithRates: new Set() },
    destination: null,
    orders: [{ total: 49 }],
    checkout: { total: 49, issues: [{ code: 'AMOUNT_TOO_SMALL', minimum: 50 }] }
  },
  {
    name: 'a total of exactly the least charge: no issue; a code that takes it below: AMOUNT_TOO_SMALL',
    lines: [line('a1', WA, 50, 1)],
    ctx: { promotion: null, shippingRates: [], workspacesWithRates: new Set() },
    destination: null,
    orders: [{ total: 50 }],
    checkout: { issues: [] }
  },
  {
    name: 'the least charge is per currency (gbp 30), and a code that takes the total below it is refused',
    lines: [line('a1', WA, 100, 1, 'gbp')],
    ctx: { promotion: { ...TEN, percentBps: 7500, minSubtotal: null, currency: null }, shippingRates: [], workspacesWithRates: new Set() },
    destination: null,
    orders: [{ discount: 75, total: 25 }],
    checkout: { total: 25, issues: [{ code: 'AMOUNT_TOO_SMALL', minimum: 30 }] }
  },
  {
    name: 'a currency without a known least charge: no issue (the provider decides)',
    lines: [line('a1', WA, 1, 1, 'xts')],
    ctx: { promotion: null, shippingRates: [], workspacesWithRates: new Set() },
    destination: null,
    orders: [{ total: 1 }],
    checkout: { issues: [] }
  },
  {
    name: 'no destination (a cart without an address): no shipping, no tax',
    destination: null,
    orders: [{ shipping: 0, shippingRate: null, tax: 0, total: 4950 }, { shipping: 0, tax: 0, total: 3599 }],
    checkout: { total: 8549 }
  }
]

t.test('one row per rule', async (t) => {
  for (const row of rows) {
    const priced = computeTotals(row.lines ?? reference, context(row.ctx), row.destination === undefined ? CA : row.destination, row.chosen)
    const actual = priced.orders.map((o, i) => Object.fromEntries(Object.keys(row.orders[i] ?? {}).map((key) => [key,
      key === 'lineDiscounts' ? o.lines.map((l) => l.discount) : key === 'lineTaxes' ? o.lines.map((l) => l.tax) : key === 'shippingRate' ? o.shippingRate?.id ?? null : o[key as keyof typeof o]])))
    t.same(actual, row.orders, `${row.name}: orders`)
    t.equal(priced.orders.length, row.orders.length, `${row.name}: one order per workspace`)
    if (row.checkout) {
      const got = Object.fromEntries(Object.keys(row.checkout).map((key) => [key, key === 'promotion' ? priced.promotion?.code ?? null : priced[key as keyof PricedCheckout]]))
      t.same(got, row.checkout, `${row.name}: checkout`)
    }
    // Whatever the row: the checkout is the sum of its orders, and each order adds up.
    for (const o of priced.orders) {
      t.equal(o.total, o.subtotal - o.discount + o.shipping + (o.taxInclusive ? 0 : o.tax), `${row.name}: an order's total is its parts`)
      t.equal(o.vendorShare, o.total - o.commission + o.platformFundedDiscount, `${row.name}: the vendor share`)
    }
    t.equal(priced.total, priced.orders.reduce((n, o) => n + o.total, 0), `${row.name}: the checkout total is its orders'`)
  }
})

t.test('lines of two currencies, or none, are the caller\'s mistake', async (t) => {
  t.throws(() => computeTotals([line('a', WA, 1, 1), line('b', WA, 1, 1, 'eur')], context(), CA), /one currency/)
  t.throws(() => computeTotals([], context(), CA), /no lines/)
  t.throws(() => computeTotals([line('a', 'elsewhere', 1, 1)], context({ promotion: null, taxRates: [] }), null), /commission/)
})
