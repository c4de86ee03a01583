import t from 'tap'
import { Value } from '@sinclair/typebox/value'
import { allocate, basisPoints, divRoundHalfUp, mulDivRoundHalfUp, SignedMoney } from '../../src/platform/money.ts'

// The integer money rules of issue 14 (plan §3): every rounding is half up through
// divRoundHalfUp, and a split always sums to what it splits. Each rule is a table, then a grid
// against an independent BigInt computation.

t.test('basisPoints: amount × bps / 10 000, rounded half up', async (t) => {
  const cases: Array<[amount: number, bps: number, expected: number, why: string]> = [
    [995, 1000, 100, '99.5 rounds up (the platform gets the half)'],
    [994, 1000, 99, '99.4 rounds down'],
    [5, 1000, 1, '0.5 rounds up'],
    [1, 1000, 0, '0.1 rounds down'],
    [3999, 1250, 500, '499.875'],
    [5500, 1000, 550, 'exact'],
    [0, 1000, 0, 'nothing'],
    [1234, 0, 0, 'zero rate'],
    [1234, 10_000, 1234, 'the whole amount'],
    [10, 500, 1, 'exclusive tax of 10 at 5 %: 0.5 rounds up'],
    [1350, 725, 98, 'exclusive tax 97.875'],
    [3600, 725, 261, 'exclusive tax 261'],
    [3599, 725, 261, 'exclusive tax 260.9275'],
    [100_000_000_000, 10_000, 100_000_000_000, 'exact at the limit'],
    [99_999_999_999, 9_999, 99_989_999_999, '99989999999.0001 at the limit']
  ]
  for (const [amount, bps, expected, why] of cases) {
    const result = basisPoints(amount, bps)
    t.equal(result, expected, `${amount} at ${bps} bps: ${expected} (${why})`)
    t.ok(Number.isSafeInteger(result), 'an integer')
  }
})

t.test('divRoundHalfUp: inclusive tax is net × rate / (10 000 + rate), half up', async (t) => {
  const inclusive = (net: number, bps: number) => divRoundHalfUp(net * bps, 10_000 + bps)
  const cases: Array<[net: number, bps: number, expected: number, why: string]> = [
    [1999, 2000, 333, '333.17: GB 20 %, the total stays 1999'],
    [3, 2000, 1, '0.5 rounds up'],
    [6, 2000, 1, 'exact'],
    [2, 2000, 0, '0.33 rounds down'],
    [0, 2000, 0, 'nothing']
  ]
  for (const [net, bps, expected, why] of cases) t.equal(inclusive(net, bps), expected, `${net} incl. ${bps} bps: ${expected} (${why})`)
  t.equal(divRoundHalfUp(7, 2), 4, '3.5 rounds up')
  t.equal(divRoundHalfUp(5, 2), 3, '2.5 rounds up, not to even')
  t.equal(divRoundHalfUp(2 ** 52, 3), 1501199875790165, 'exact near 2^52 (1501199875790165.33)')
  t.equal(divRoundHalfUp(2 ** 52 - 1, 2), 2 ** 51, 'exact near 2^52 (.5 up)')
})

t.test('products past 2^53 stay exact: a huge cart is priced, never a RangeError', async (t) => {
  const MAX = Number.MAX_SAFE_INTEGER // 2^53 − 1
  const cases: Array<[amount: number, factor: number, den: number, expected: number, why: string]> = [
    [9_100_000_000_000, 1000, 10_000, 910_000_000_000, 'commission on 91 lines at the top price and quantity (product 9.1e15 > 2^53)'],
    [99_999_999 * 999 * 10, 10_000, 10_000, 99_999_999 * 999 * 10, 'a 100 % code on ten such lines'],
    [MAX, 10_000, 10_000, MAX, 'the largest safe amount, whole'],
    [MAX, 5000, 10_000, 2 ** 52, 'half of 2^53 − 1 is .5: rounds up'],
    [MAX, 1, 10_000, 900_719_925_474, '900719925474.0991'],
    [2 ** 40 + 1, 2000, 12_000, 183_251_937_963, 'inclusive 20 % tax: (2^40 + 1) / 6 = 183251937962.83'],
    [MAX, 2000, 12_000, 1_501_199_875_790_165, 'inclusive 20 % tax on the largest safe amount (…165.17)']
  ]
  for (const [amount, factor, den, expected, why] of cases) {
    t.equal(mulDivRoundHalfUp(amount, factor, den), expected, `${amount} × ${factor} / ${den}: ${expected} (${why})`)
    if (den === 10_000) t.equal(basisPoints(amount, factor), expected, `basisPoints(${amount}, ${factor})`)
  }
  t.throws(() => mulDivRoundHalfUp(2 ** 53, 1, 1), RangeError, 'an amount past 2^53 is not one the system holds')
  t.throws(() => mulDivRoundHalfUp(-1, 1, 1), RangeError, 'never negative')
  t.throws(() => mulDivRoundHalfUp(1, 1, 0), RangeError, 'never over zero')
})

t.test('allocate: largest remainder, ties to the lower index, always summing to the total', async (t) => {
  const cases: Array<[total: number, weights: number[], expected: number[], why: string]> = [
    [1, [1, 1, 1], [1, 0, 0], 'a tie goes to the first'],
    [2, [1, 1, 1], [1, 1, 0], 'ties in index order'],
    [10, [3, 3, 3], [4, 3, 3], 'one left over'],
    [100, [1, 2], [33, 67], '.67 beats .33'],
    [0, [5, 0], [0, 0], 'nothing to split'],
    [7, [0, 7], [0, 7], 'a zero weight gets nothing'],
    [950, [5500, 3999], [550, 400], 'the reference cart: .9421 beats .0579'],
    [550, [4000, 1500], [400, 150], 'exact'],
    [5, [10], [5], 'one weight takes all'],
    [100_000_000_000, [99_999_999_999, 1], [99_999_999_999, 1], 'exact at the limit']
  ]
  for (const [total, weights, expected, why] of cases) t.same(allocate(total, weights), expected, `${total} over [${weights}]: [${expected}] (${why})`)
  t.same(allocate(0, []), [], 'nothing over nothing')
  t.throws(() => allocate(5, [0, 0]), 'a positive total over zero weights has nowhere to go')
})

t.test('the rules hold over a grid, against an independent BigInt computation', async (t) => {
  const wrong: string[] = []
  let checked = 0
  for (let amount = 0; amount <= 5000; amount += 13) {
    for (const bps of [0, 1, 5, 99, 500, 725, 1000, 1250, 2000, 3333, 9999, 10_000]) {
      const product = BigInt(amount) * BigInt(bps)
      // Half up: the quotient, plus one when the remainder is at least half the divisor.
      const expected = Number(product / 10_000n + (product % 10_000n * 2n >= 10_000n ? 1n : 0n))
      const result = basisPoints(amount, bps)
      checked++
      if (result !== expected) wrong.push(`${amount} at ${bps}: ${result}, expected ${expected}`)
    }
  }
  t.equal(checked, 385 * 12, 'the whole basis-point grid was checked')
  for (let total = 0; total <= 300; total += 7) {
    for (const weights of [[1], [1, 1], [1, 2, 3], [5500, 3999], [0, 4, 0, 9], [333, 333, 334], [1, 1, 1, 1, 1, 1, 1]]) {
      const parts = allocate(total, weights)
      const sum = weights.reduce((a, b) => a + b, 0)
      checked++
      if (parts.reduce((a, b) => a + b, 0) !== total) wrong.push(`${total} over [${weights}]: sums to ${parts}`)
      // Each part is its exact share rounded down or up: never further than one unit off.
      parts.forEach((p, i) => {
        const exact = total * weights[i]! / sum
        if (p < Math.floor(exact) || p > Math.ceil(exact)) wrong.push(`${total} over [${weights}]: part ${i} is ${p}, share ${exact}`)
      })
    }
  }
  t.same(wrong, [], 'no rounding or sum is off')
})

t.test('SignedMoney allows negative amounts within the limit, Money-shaped', async (t) => {
  t.ok(Value.Check(SignedMoney, { amount: -550, currency: 'usd' }), 'a negative amount')
  t.ok(Value.Check(SignedMoney, { amount: 100_000_000_000, currency: 'eur' }), 'the limit')
  t.notOk(Value.Check(SignedMoney, { amount: -100_000_000_001, currency: 'usd' }), 'beyond the limit')
  t.notOk(Value.Check(SignedMoney, { amount: 1.5, currency: 'usd' }), 'never a fraction')
  t.notOk(Value.Check(SignedMoney, { amount: 1, currency: 'USD' }), 'lower-case currency')
})
