import t from 'tap'
import type { ConnectAccountState } from '../../src/platform/payment-connect.ts'
import { accountStatus, type PayoutStatus } from '../../src/modules/payouts/status.ts'

// The payout status table (README "Payouts"): what Stripe's account flags mean for paying the
// vendor. Each row is one case; the table is written out here, not derived from the code.

const base: ConnectAccountState = {
  id: 'acct_1',
  chargesEnabled: false,
  payoutsEnabled: false,
  detailsSubmitted: false,
  transfersCapability: 'inactive',
  requirementsDue: [],
  pastDue: [],
  disabledReason: null
}

const ROWS: Array<[string, Partial<ConnectAccountState> | null, PayoutStatus]> = [
  ['no account', null, 'not_started'],
  ['just created: nothing submitted, past due reason (as Stripe reports new accounts)', { requirementsDue: ['external_account'], disabledReason: 'requirements.past_due' }, 'pending'],
  ['form unfinished, transfers pending', { transfersCapability: 'pending' }, 'pending'],
  ['form unfinished, no capability at all', { transfersCapability: null }, 'pending'],
  ['payouts and transfers on', { detailsSubmitted: true, payoutsEnabled: true, chargesEnabled: true, transfersCapability: 'active' }, 'enabled'],
  ['payouts and transfers on, details flag not yet set', { payoutsEnabled: true, transfersCapability: 'active' }, 'enabled'],
  ['payouts on but transfers inactive', { detailsSubmitted: true, payoutsEnabled: true, transfersCapability: 'inactive' }, 'pending'],
  ['transfers active but payouts off, under verification', { detailsSubmitted: true, transfersCapability: 'active', disabledReason: 'requirements.pending_verification' }, 'pending'],
  ['submitted, pending capability, no reason', { detailsSubmitted: true, transfersCapability: 'pending' }, 'pending'],
  ['submitted, under review', { detailsSubmitted: true, disabledReason: 'under_review' }, 'pending'],
  ['submitted, past due reason', { detailsSubmitted: true, disabledReason: 'requirements.past_due', pastDue: ['external_account'] }, 'restricted'],
  ['submitted, no reason but something past due', { detailsSubmitted: true, pastDue: ['individual.id_number'] }, 'restricted'],
  ['submitted, pending verification yet something past due', { detailsSubmitted: true, disabledReason: 'requirements.pending_verification', pastDue: ['external_account'] }, 'restricted'],
  ['submitted, rejected for fraud', { detailsSubmitted: true, disabledReason: 'rejected.fraud' }, 'restricted'],
  ['submitted, another reason (listed)', { detailsSubmitted: true, disabledReason: 'listed' }, 'restricted'],
  ['rejected before submitting anything', { disabledReason: 'rejected.terms_of_service' }, 'restricted'],
  ['enabled, then requirements due: payouts off, past due', { detailsSubmitted: true, payoutsEnabled: false, transfersCapability: 'active', disabledReason: 'requirements.past_due', pastDue: ['external_account'] }, 'restricted'],
  ['enabled, then new documents under review: payouts off', { detailsSubmitted: true, payoutsEnabled: false, transfersCapability: 'pending', disabledReason: 'requirements.pending_verification' }, 'pending']
]

t.test('the payout status table', async (t) => {
  for (const [label, fields, expected] of ROWS) {
    t.equal(accountStatus(fields === null ? null : { ...base, ...fields }), expected, `${label} → ${expected}`)
  }
})

t.test('every status is reachable', async (t) => {
  t.same([...new Set(ROWS.map((r) => r[2]))].sort(), ['enabled', 'not_started', 'pending', 'restricted'])
})
