// What other modules (and the worker) may use of `ledger` (issue 14, plan §2.4, §2.6): the
// payment outcome records sales, refund settlement records refund changes, account.updated
// releases waiting transfers; the payouts job makes transfers and reversals and sweeps.

export type { LedgerBucket, LedgerEntryType, RefundChange, SaleFacts } from './types.ts'
export { recordSales } from './sales.ts'
export { recordRefundChange } from './refunds.ts'
export { processTransfer, releaseWaitingTransfers } from './transfers.ts'
export { processReversal } from './reversals.ts'
export { sweepPayouts } from './sweep.ts'
export type { LedgerDeps } from './ledger-deps.ts'
export * as ledgerCounters from './counters.ts'
