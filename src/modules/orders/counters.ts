import { defineCounter } from '../../platform/metrics.ts'

// What orders count for the operators' dashboards (served at /metrics; see platform/metrics.ts).
// Payments and refunds are counted in the transaction that applies them, once each (their
// guards make a second application a no-op): a rare rollback after that point counts one too many.

export const checkoutsPlaced = defineCounter({
  name: 'bazaar_checkouts_total',
  help: 'Checkouts placed (one or more orders each, counted once committed)'
})

export const payments = defineCounter({
  name: 'bazaar_payments_total',
  help: 'Checkout payments by outcome: confirmed (applied to its orders), failed (a failed attempt reported by the provider), review (did not match the checkout; kept for a person)',
  labelNames: ['outcome'],
  initial: [{ outcome: 'confirmed' }, { outcome: 'failed' }, { outcome: 'review' }]
})

export const refundsSettled = defineCounter({
  name: 'bazaar_refunds_total',
  help: 'Refunds settled on an order (done at the provider; one made in its dashboard counts once per order it is spread over)'
})
