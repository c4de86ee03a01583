import t from 'tap'
import { refusalCode } from '../../src/modules/ledger/ledger-deps.ts'
import { commissionReturned, fundingReturned, reversalTarget, shareOf, unclaimedAmount, vendorPart } from '../../src/modules/ledger/split.ts'

// Plan §3.6 C: a refund splits between vendor and platform on cumulative amounts, half up, so
// the parts of many refunds equal the parts of their sum and a full refund returns exactly the
// vendor's share; a reversal never exceeds the transfer.

const B = { paid: 3860, commission: 500, funding: 400 }
const A = { paid: 5809, commission: 550, funding: 550 }

t.test('order B of example A: refund 1000 then the rest, transferred 3760', async (t) => {
  t.equal(shareOf(B), 3760)
  const rows: Array<[refunded: number, cr: number, fr: number, part: number, target: number]> = [
    [1000, 130, 104, 974, 974],
    [3860, 500, 400, 3760, 3760]
  ]
  for (const [refunded, cr, fr, part, target] of rows) {
    t.equal(commissionReturned(B, refunded), cr, `Cr(${refunded})`)
    t.equal(fundingReturned(B, refunded), fr, `Fr(${refunded})`)
    t.equal(vendorPart(B, refunded), part, `vendorPart(${refunded})`)
    t.equal(reversalTarget(B, refunded, 3760), target, `reversed by ${refunded}`)
  }
})

t.test('order A refunded before its vendor was enabled: the transfer drops, then a full refund reverses all of it', async (t) => {
  t.equal(commissionReturned(A, 809), 77)
  t.equal(fundingReturned(A, 809), 77)
  t.equal(vendorPart(A, 809), 809)
  t.equal(unclaimedAmount(A, 809), 5000, 'the waiting transfer is lowered to 5000')
  t.equal(reversalTarget(A, 5809, 5000), 5000, 'a later full refund reverses exactly the 5000 sent')
  t.equal(reversalTarget(A, 809, 5000), 0, 'the refund already kept back needs no reversal')
})

t.test('example D, store B (1500, commission 188): refund 500 reverses 437', async (t) => {
  const D = { paid: 1500, commission: 188, funding: 0 }
  t.equal(shareOf(D), 1312)
  t.equal(commissionReturned(D, 500), 63)
  t.equal(reversalTarget(D, 500, 1312), 437)
  t.equal(reversalTarget(D, 1500, 1312), 1312, 'a full refund reverses the whole transfer, never more')
})

t.test('cumulative: any sequence of refunds reverses what their sum does, never above the transfer', async (t) => {
  for (const o of [B, A, { paid: 999, commission: 100, funding: 0 }, { paid: 7, commission: 1, funding: 3 }]) {
    const share = shareOf(o)
    let refunded = 0
    let reversed = 0
    for (let step = 1; refunded < o.paid; step = step * 3 % 17 + 1) {
      refunded = Math.min(o.paid, refunded + step)
      const more = reversalTarget(o, refunded, share) - reversed
      t.ok(more >= 0, 'a refund never un-reverses')
      reversed += more
      t.ok(reversed <= share, 'never above the transfer')
    }
    t.equal(reversed, share, `${JSON.stringify(o)}: all reversed after a full refund`)
    t.equal(unclaimedAmount(o, o.paid), 0, 'an unclaimed transfer of a fully refunded order drops to 0')
  }
})

t.test('provider refusals: for good, or retried like an outage', async (t) => {
  const rejected = (providerCode: string | null) => ({ code: 'PAYMENT_PROVIDER_REJECTED', extra: { providerCode } })
  t.equal(refusalCode(rejected('insufficient_capabilities_for_transfer')), 'insufficient_capabilities_for_transfer')
  t.equal(refusalCode(rejected(null)), 'refused')
  t.equal(refusalCode(rejected('idempotency_key_in_use')), null, 'a twin job still running: retry')
  t.equal(refusalCode(rejected('lock_timeout')), null)
  t.equal(refusalCode({ code: 'PAYMENT_PROVIDER_ERROR' }), null, 'an outage: retry')
  t.equal(refusalCode(new Error('boom')), null)
})
