// Stripe Connect (issue 14): what the platform asks of the provider for vendor payouts. The
// contract only, until its work package adds the Stripe and simulator implementations.

/** A connected account as the provider reports it. */
export interface ConnectAccountState {
  id: string
  chargesEnabled: boolean
  payoutsEnabled: boolean
  detailsSubmitted: boolean
  transfersCapability: 'active' | 'inactive' | 'pending' | null
  requirementsDue: string[]
  pastDue: string[]
  disabledReason: string | null
}

export interface ConnectGateway {
  provider: 'stripe' | 'simulator'
  createAccount: (input: { workspaceId: string, country?: string, idempotencyKey: string }) => Promise<ConnectAccountState>
  /** A short-lived bearer URL: returned to the owner, never stored or logged. */
  createOnboardingLink: (input: { accountId: string, refreshUrl: string, returnUrl: string }) => Promise<{ url: string, expiresAt: Date }>
  retrieveAccount: (accountId: string) => Promise<ConnectAccountState>
  createTransfer: (input: {
    amount: number
    currency: string
    destination: string
    transferGroup: string
    sourceTransaction: string | null
    metadata: { transferId: string, orderId: string, checkoutId: string }
    idempotencyKey: string
  }) => Promise<{ id: string, amount: number }>
  /** A transfer made before, found by its group and our id (after the provider pruned the idempotency key). */
  findTransfer: (transferGroup: string, transferId: string) => Promise<{ id: string, amount: number } | null>
  createReversal: (input: { transferId: string, amount: number, metadata: { reversalId: string, refundId: string }, idempotencyKey: string }) => Promise<{ id: string }>
  findReversal: (stripeTransferId: string, reversalId: string) => Promise<{ id: string } | null>
}
