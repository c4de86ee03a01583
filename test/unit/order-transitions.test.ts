import t from 'tap'
import { canTransition, TRANSITIONS, type Actor, type OrderStatus } from '../../src/modules/orders/transitions.ts'

// The order lifecycle of SPEC 8.4, written out here by hand: every (from, to, actor) that is
// allowed. Everything else must be refused, so the whole status × status × actor cube is checked.
const STATUSES: OrderStatus[] = ['pending', 'confirmed', 'shipped', 'delivered', 'cancelled']
const ACTORS: Actor[] = ['customer', 'workspace', 'payment', 'system']

const ALLOWED = [
  'pending -> confirmed by payment',
  'pending -> cancelled by customer',
  'pending -> cancelled by workspace',
  'pending -> cancelled by system',
  'confirmed -> shipped by workspace',
  'confirmed -> cancelled by customer',
  'confirmed -> cancelled by workspace',
  'confirmed -> cancelled by system',
  'shipped -> delivered by workspace'
]

t.test('the table has a row for every status and names only known statuses and actors', async (t) => {
  t.same(Object.keys(TRANSITIONS).sort(), [...STATUSES].sort())
  for (const [from, targets] of Object.entries(TRANSITIONS)) {
    for (const [to, actors] of Object.entries(targets)) {
      t.ok(STATUSES.includes(to as OrderStatus), `${from} -> ${to}: a known status`)
      t.ok(actors.length > 0, `${from} -> ${to}: someone may make it`)
      t.ok(actors.every((a) => ACTORS.includes(a)), `${from} -> ${to}: known actors`)
    }
  }
})

t.test('exactly the listed transitions are allowed, each for exactly the listed actors', async (t) => {
  for (const from of STATUSES) {
    for (const to of STATUSES) {
      for (const actor of ACTORS) {
        const rule = `${from} -> ${to} by ${actor}`
        t.equal(canTransition(from, to, actor), ALLOWED.includes(rule), rule)
      }
    }
  }
})

t.test('the end states and staying put', async (t) => {
  for (const actor of ACTORS) {
    for (const to of STATUSES) {
      t.notOk(canTransition('delivered', to, actor), `delivered is final (${to} by ${actor})`)
      t.notOk(canTransition('cancelled', to, actor), `cancelled is final (${to} by ${actor})`)
    }
    for (const status of STATUSES) t.notOk(canTransition(status, status, actor), `${status} -> ${status} is not a transition`)
  }
  t.notOk(canTransition('pending', 'shipped', 'workspace'), 'an unpaid order cannot be shipped')
  t.notOk(canTransition('pending', 'confirmed', 'workspace'), 'only a payment confirms an order')
  t.notOk(canTransition('shipped', 'cancelled', 'customer'), 'a shipped order cannot be cancelled')
  t.notOk(canTransition('shipped', 'delivered', 'customer'), 'the customer does not mark delivery')
})
