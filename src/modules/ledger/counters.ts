import { defineCounter } from '../../platform/metrics.ts'

// What the payouts jobs count for the operators' dashboards (served by the worker at /metrics;
// see platform/metrics.ts), once per provider answer acted on. A failed transfer or reversal
// needs an operator (GET /admin/transfers?status=failed, GET /admin/reversals?status=failed):
// alert on its increase.

export const payoutTransfers = defineCounter({
  name: 'bazaar_payout_transfers_total',
  help: 'Vendor transfers by outcome: paid (made at the provider, recorded), waiting (refused for now: the account cannot receive transfers), retried (balance_insufficient: queued again under a new key), failed (refused for good: an operator must act)',
  labelNames: ['outcome'],
  initial: [{ outcome: 'paid' }, { outcome: 'waiting' }, { outcome: 'retried' }, { outcome: 'failed' }]
})

export const payoutReversals = defineCounter({
  name: 'bazaar_payout_reversals_total',
  help: 'Transfer reversals by outcome: paid (taken back from the vendor\'s account), failed (refused: the platform funded that vendor part; an operator must act)',
  labelNames: ['outcome'],
  initial: [{ outcome: 'paid' }, { outcome: 'failed' }]
})
