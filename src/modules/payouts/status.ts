import type { ConnectAccountState } from '../../platform/payment-connect.ts'

// What a connected account's provider state means for paying its vendor (plan §WP4, the status
// table in the README). Pure; test/unit/payout-status.test.ts holds the table.

export type PayoutStatus = 'not_started' | 'pending' | 'enabled' | 'restricted'

/** Reasons Stripe gives while it is still checking what was submitted: waiting, not refused. */
const REVIEWING = new Set(['requirements.pending_verification', 'under_review'])

export function accountStatus (state: ConnectAccountState | null): PayoutStatus {
  if (state === null) return 'not_started'
  // Money can go out: transfers are active and the account pays out.
  if (state.payoutsEnabled && state.transfersCapability === 'active') return 'enabled'
  // Stripe refused the account for good (fraud, terms of service, listed…): no form fixes that.
  if (state.disabledReason?.startsWith('rejected.')) return 'restricted'
  // The vendor has not finished the onboarding form: they still can.
  if (!state.detailsSubmitted) return 'pending'
  // Submitted: under review is pending; anything overdue or another reason is restricted.
  const reviewing = state.disabledReason === null || REVIEWING.has(state.disabledReason)
  return reviewing && state.pastDue.length === 0 ? 'pending' : 'restricted'
}
