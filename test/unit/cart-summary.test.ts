import t from 'tap'
import { summaryOf } from '../../src/modules/cart/summary.ts'
import { computeTotals, type PricingContext, type PricingLine } from '../../src/modules/pricing/public.ts'

// A cart summary shows what checkout would refuse as issues, never throws, and prices without
// the failing part: a code that does not apply takes nothing, a store that cannot ship adds no
// shipping. (The end-to-end route is test/modules/cart/summary.test.ts; promotions and rates
// exist only once their work packages land, so their issues are shown here on a context.)

const WA = '00000000-0000-7000-8000-00000000000a'
const WB = '00000000-0000-7000-8000-00000000000b'
const lines: PricingLine[] = [
  { lineId: 'a', workspaceId: WA, variantId: 'va', currency: 'usd', unitAmount: 2000, quantity: 2, lineAmount: 4000 },
  { lineId: 'b', workspaceId: WB, variantId: 'vb', currency: 'usd', unitAmount: 1000, quantity: 1, lineAmount: 1000 }
]
const ctx: PricingContext = {
  promotion: { id: 'p', code: 'BIG', workspaceId: null, kind: 'percent', percentBps: 1000, amountOff: null, currency: 'usd', minSubtotal: 10_000, fundedBy: 'vendor' },
  shippingRates: [{ id: 'r-b', workspaceId: WB, name: 'Courier', currency: 'usd', kind: 'flat', amount: 450, freeOverAmount: null, countries: ['DE'] }],
  workspacesWithRates: new Set([WB]),
  taxRates: [{ id: 't', country: 'US', region: null, rateBps: 500, inclusive: false, name: 'US' }],
  commissionBps: new Map([[WA, 1000], [WB, 1000]])
}
const usd = (amount: number) => ({ amount, currency: 'usd' })

t.test('issues are shown with the amounts priced without them', async (t) => {
  const destination = { country: 'US', region: null }
  t.same(summaryOf(computeTotals(lines, ctx, destination), ctx, destination), {
    currency: 'usd',
    subtotal: usd(5000),
    discount: usd(0),
    shipping: usd(0),
    tax: usd(250),
    taxInclusive: false,
    total: usd(5250),
    destination,
    promotion: { code: 'BIG', discount: usd(0), fundedBy: 'vendor', applicable: false, reason: 'min_subtotal' },
    issues: [{ code: 'PROMOTION_NOT_APPLICABLE', reason: 'min_subtotal' }, { code: 'NOT_SHIPPABLE', workspaceId: WB }]
  })
})

t.test('without a destination: shipping and tax unknown, no shipping issue, an applicable code shown with its discount', async (t) => {
  const applicable = { ...ctx, promotion: { ...ctx.promotion!, minSubtotal: null } }
  t.same(summaryOf(computeTotals(lines, applicable, null), applicable, null), {
    currency: 'usd',
    subtotal: usd(5000),
    discount: usd(500),
    shipping: null,
    tax: null,
    taxInclusive: false,
    total: usd(4500),
    destination: null,
    promotion: { code: 'BIG', discount: usd(500), fundedBy: 'vendor', applicable: true },
    issues: []
  })
})
