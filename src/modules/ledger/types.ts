// The ledger's vocabulary (plan §2.6), shared by its files and exported through public.ts.

/** What a ledger row records. Rows are immutable; amounts are signed, seen from the bucket's owner. */
export type LedgerEntryType = 'sale' | 'commission' | 'discount_funding' | 'refund' | 'commission_refund' | 'funding_refund' | 'transfer' | 'transfer_reversal' | 'adjustment'
export const LEDGER_ENTRY_TYPES: readonly LedgerEntryType[] = ['sale', 'commission', 'discount_funding', 'refund', 'commission_refund', 'funding_refund', 'transfer', 'transfer_reversal', 'adjustment']
/** pending and paid_out are a vendor's; platform is the platform's (rows without a workspace). */
export type LedgerBucket = 'pending' | 'paid_out' | 'platform'

export type TransferStatus = 'waiting' | 'queued' | 'in_flight' | 'paid' | 'failed' | 'void'
export const TRANSFER_STATUSES: readonly TransferStatus[] = ['waiting', 'queued', 'in_flight', 'paid', 'failed', 'void']
/** void: its transfer was refused before it was made, and the reversal folded into its amount. */
export type ReversalStatus = 'pending' | 'paid' | 'failed' | 'void'
export const REVERSAL_STATUSES: readonly ReversalStatus[] = ['pending', 'paid', 'failed', 'void']

/** An order a payment was applied to, as its checkout froze it. */
export interface SaleFacts { orderId: string, workspaceId: string, currency: string, paidAmount: number, totalAmount: number, commission: number, platformFundedDiscount: number, live: boolean }
/** A change of an order's cumulative refunded amount (negative when a refund is undone). */
export interface RefundChange { orderId: string, workspaceId: string, currency: string, refundId: string | null, refundedBefore: number, refundedAfter: number, paidAmount: number, commission: number, platformFundedDiscount: number }
