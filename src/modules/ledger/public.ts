import type { Trx } from '../../platform/db.ts'
import type { Deps } from '../../platform/deps.ts'

// What other modules may use of `ledger` (issue 14). A stub until its work package lands: money
// movements are not recorded yet, so these are no-ops. The signatures and the entry types
// (plan §2.6) are the contract.

/** What a ledger row records. Rows are immutable; amounts are signed, seen from the bucket's owner. */
export type LedgerEntryType = 'sale' | 'commission' | 'discount_funding' | 'refund' | 'commission_refund' | 'funding_refund' | 'transfer' | 'transfer_reversal' | 'adjustment'
/** pending and paid_out are a vendor's; platform is the platform's (rows without a workspace). */
export type LedgerBucket = 'pending' | 'paid_out' | 'platform'

/** An order a payment was applied to, as its checkout froze it. */
export interface SaleFacts { orderId: string, workspaceId: string, currency: string, paidAmount: number, totalAmount: number, commission: number, platformFundedDiscount: number, live: boolean }
/** A change of an order's cumulative refunded amount (negative when a refund is undone). */
export interface RefundChange { orderId: string, workspaceId: string, currency: string, refundId: string | null, refundedBefore: number, refundedAfter: number, paidAmount: number, commission: number, platformFundedDiscount: number }

/** Records a checkout's sales (and queues or holds each vendor's transfer), in the payment outcome's transaction. */
export async function recordSales (trx: Trx, deps: Deps, input: { checkoutId: string, chargeId: string | null, orders: SaleFacts[] }): Promise<void> {}

/** Records a refund change, and reverses or lowers the vendor's transfer in proportion. */
export async function recordRefundChange (trx: Trx, deps: Deps, change: RefundChange): Promise<void> {}

/** Queues the transfers that waited for this workspace's payouts; returns how many. */
export async function releaseWaitingTransfers (trx: Trx, deps: Deps, workspaceId: string): Promise<number> {
  return 0
}
