// What other modules (and app.ts, worker.ts, jobs, scripts) may use of `orders`.
export type { OrderDeps } from './order-deps.ts'
export { checkoutByIntent, checkoutOfOwner, owedAmount, type CheckoutRecord } from './checkout-records.ts'
export { applyPaymentFailed, applyPaymentSucceeded, applyProviderState, readProviderState, type PaymentOutcome, type ProviderState } from './payment-outcomes.ts'
export { executeRefunds, retryPendingRefunds } from './refunds.ts'
export { expireUnpaidOrders } from './expiry.ts'
export * as orderEmails from './emails.ts'
export * as orderCounters from './counters.ts'
export { OrderView, WorkspaceOrderView } from './schemas.ts'
