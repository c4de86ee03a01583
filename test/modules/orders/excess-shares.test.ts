import t from 'tap'
import { sharesOfExcess } from '../../../src/modules/orders/payment-outcomes.ts'

// Which cancelled orders a payment's excess covered (issue 9, item 4): the intent was lowered
// cancel by cancel, so the excess is the total of some cancelled orders, most recent first.

const orders = [{ id: 'c', totalAmount: 1500 }, { id: 'b', totalAmount: 4000 }, { id: 'a', totalAmount: 799 }] // most recently cancelled first

t.test('the excess is matched to whole orders, preferring the most recently cancelled', async (t) => {
  const cases: Array<[number, Record<string, number>]> = [
    [0, {}],
    [-5, {}],
    [1500, { c: 1500 }],
    [4000, { b: 4000 }],
    [5500, { c: 1500, b: 4000 }],
    [2299, { c: 1500, a: 799 }],
    [6299, { c: 1500, b: 4000, a: 799 }]
  ]
  for (const [excess, expected] of cases) t.same(Object.fromEntries(sharesOfExcess(orders, excess)), expected, `excess ${excess}`)
})

t.test('an excess no set of orders makes is filled in order, never more than an order\'s total', async (t) => {
  const shares = sharesOfExcess(orders, 5000)
  t.same(Object.fromEntries(shares), { c: 1500, b: 3500 })
  t.equal([...shares.values()].reduce((s, v) => s + v, 0), 5000)
})
