import t from 'tap'
import { Value } from '@sinclair/typebox/value'
import { discounted, formatMoney, MAX_CHARGE, money, Money } from '../../src/platform/money.ts'

// Money is integer minor units; a discount rounds half up in integer arithmetic, so the same
// price gives the same cents everywhere (catalog, cart, checkout) and never a float.

t.test('discounted: a percentage off, rounded half up, exact in integers', async (t) => {
  const cases: Array<[amount: number, percentage: number, expected: number, why: string]> = [
    [2500, 0, 2500, 'no discount'],
    [2500, 100, 0, 'everything off'],
    [3000, 10, 2700, 'whole result'],
    [3500, 10, 3150, 'whole result'],
    [1, 50, 1, '0.5 rounds up'],
    [3, 50, 2, '1.5 rounds up'],
    [5, 50, 3, '2.5 rounds up (not to even)'],
    [150, 33, 101, '100.5 rounds up'],
    [199, 33, 133, '133.33 rounds down'],
    [1999, 15, 1699, '1699.15 rounds down'],
    [1, 99, 0, '0.01 rounds down to nothing'],
    [1, 1, 1, '0.99 rounds up'],
    [0, 50, 0, 'nothing stays nothing'],
    [60_000_000, 5, 57_000_000, 'large price, exact'],
    [MAX_CHARGE, 1, 98_999_999, '98999999.01 at the charge limit'],
    [100_000_000_000, 1, 99_000_000_000, 'the largest amount, exact'],
    [100_000_000_000, 99, 1_000_000_000, 'the largest amount, large discount'],
    [99_999_999_999, 33, 66_999_999_999, '66999999999.33 at the limit rounds down']
  ]
  for (const [amount, percentage, expected, why] of cases) {
    const result = discounted(amount, percentage)
    t.equal(result, expected, `${amount} less ${percentage}%: ${expected} (${why})`)
    t.ok(Number.isSafeInteger(result), `${amount} less ${percentage}%: an integer`)
  }
  // Over a grid, against the same rule computed independently: hundredths of a cent, rounded half up.
  const wrong: string[] = []
  let checked = 0
  for (let amount = 0; amount <= 1000; amount += 7) {
    for (const percentage of [0, 1, 5, 10, 12, 25, 33, 50, 66, 75, 99, 100]) {
      const hundredths = amount * (100 - percentage)
      const expected = (hundredths - (hundredths % 100)) / 100 + (hundredths % 100 >= 50 ? 1 : 0)
      const result = discounted(amount, percentage)
      checked++
      if (result !== expected || result > amount || result < 0) wrong.push(`${amount} less ${percentage}%: ${result}, expected ${expected}`)
    }
  }
  t.equal(checked, 143 * 12, 'the whole grid was checked')
  t.same(wrong, [], 'half-up rounding holds over a grid of amounts and percentages')
})

t.test('formatMoney: the currency\'s own minor digits', async (t) => {
  const cases: Array<[number, string, string]> = [
    [4900, 'usd', '49.00 USD'],
    [1999, 'usd', '19.99 USD'],
    [1, 'usd', '0.01 USD'],
    [0, 'eur', '0.00 EUR'],
    [MAX_CHARGE, 'usd', '999999.99 USD'],
    [100_000_000_000, 'usd', '1000000000.00 USD'],
    [4900, 'jpy', '4900 JPY'],
    [1234, 'kwd', '1.234 KWD'],
    [1234, 'xyz', '12.34 XYZ'],
    [1234, 'zz', '12.34 ZZ']
  ]
  // Twice: the second pass reads the remembered digits of each currency.
  for (const pass of ['first', 'again']) {
    for (const [amount, currency, text] of cases) {
      t.equal(formatMoney(money(amount, currency)), text, `${amount} ${currency} (${pass})`)
    }
  }
})

t.test('money() and the Money schema: integer minor units, lower-case ISO code, bounded', async (t) => {
  t.same(money(1999, 'usd'), { amount: 1999, currency: 'usd' })
  t.equal(MAX_CHARGE, 99_999_999, 'one payment charges at most eight digits of minor units')
  const valid = [{ amount: 0, currency: 'usd' }, { amount: 1999, currency: 'eur' }, { amount: 100_000_000_000, currency: 'jpy' }]
  for (const m of valid) t.ok(Value.Check(Money, m), `${JSON.stringify(m)} is money`)
  const invalid: Array<[unknown, string]> = [
    [{ amount: 19.99, currency: 'usd' }, 'a float'],
    [{ amount: -1, currency: 'usd' }, 'negative'],
    [{ amount: 100_000_000_001, currency: 'usd' }, 'above the limit'],
    [{ amount: '1999', currency: 'usd' }, 'a string amount'],
    [{ amount: 1999, currency: 'USD' }, 'an upper-case code'],
    [{ amount: 1999, currency: 'us' }, 'a short code'],
    [{ amount: 1999, currency: 'usdx' }, 'a long code'],
    [{ amount: 1999 }, 'no currency'],
    [{ currency: 'usd' }, 'no amount']
  ]
  for (const [m, why] of invalid) t.notOk(Value.Check(Money, m), `not money: ${why}`)
})
