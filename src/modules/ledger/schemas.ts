import { Type, type Static } from '@sinclair/typebox'
import { Money, SignedMoney } from '../../platform/money.ts'
import { Page, PageQuery } from '../../platform/pagination.ts'
import { DateTimeText, Nullable, Strict, Timestamp, Uuid } from '../../platform/schema-types.ts'
import { LEDGER_ENTRY_TYPES, REVERSAL_STATUSES, TRANSFER_STATUSES } from './types.ts'

const usd = (amount: number) => ({ amount, currency: 'usd' })
const Currency = Type.String({ pattern: '^[a-z]{3}$', description: 'ISO 4217, lower case', examples: ['usd'] })
const ids = { ws: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80', order: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9ea0', transfer: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9eb0' }

export const WorkspaceParams = Type.Object({ id: Uuid({ description: 'the workspace' }) })

export const BalanceItem = Type.Object({
  currency: Currency,
  pending: Type.Ref(SignedMoney, { description: 'earned, not yet transferred (net of refunds and commission), minus what is in transit; below 0 for a moment while a refund\'s transfer reversal is under way' }),
  inTransit: Type.Ref(Money, { description: 'transfers being made at the provider now' }),
  paidOut: Type.Ref(Money, { description: 'transferred to the connected account, net of reversals' }),
  lifetime: Type.Object({
    sales: Type.Ref(Money),
    refunds: Type.Ref(Money),
    commission: Type.Ref(Money, { description: 'commission kept, net of commission returned with refunds' }),
    net: Type.Ref(SignedMoney, { description: 'sales − refunds − commission + platform-funded discounts: pending + in transit + paid out' })
  })
})
export const Balance = Type.Object({ items: Type.Array(BalanceItem) }, {
  examples: [{ items: [{ currency: 'usd', pending: usd(0), inTransit: usd(0), paidOut: usd(875), lifetime: { sales: usd(1500), refunds: usd(500), commission: usd(125), net: usd(875) } }] }]
})
export type Balance = Static<typeof Balance>

const EntryType = Type.Union(LEDGER_ENTRY_TYPES.map((t) => Type.Literal(t)))
const Bucket = Type.Union([Type.Literal('pending'), Type.Literal('paid_out')])

export const LedgerQuery = Strict({
  currency: Type.Optional(Currency),
  type: Type.Optional(EntryType),
  orderId: Type.Optional(Uuid()),
  ...PageQuery
})
export type LedgerQuery = Static<typeof LedgerQuery>

export const LedgerEntryView = Type.Object({
  id: Uuid(),
  type: EntryType,
  bucket: Bucket,
  amount: Type.Ref(SignedMoney, { description: 'signed, as the workspace sees it' }),
  orderId: Nullable(Uuid()),
  refundId: Nullable(Uuid()),
  transferId: Nullable(Uuid()),
  stripeId: Nullable(Type.String({ description: 'the provider\'s transfer (tr_…) or reversal (trr_…) id' })),
  createdAt: Timestamp()
})
export type LedgerEntryView = Static<typeof LedgerEntryView>
export const LedgerPage = Page(LedgerEntryView, {
  examples: [{
    items: [{ id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9ec0', type: 'transfer', bucket: 'paid_out', amount: usd(1312), orderId: ids.order, refundId: null, transferId: ids.transfer, stripeId: 'tr_1Qx', createdAt: '2026-12-03T10:00:00.000Z' }],
    nextCursor: null
  }]
})

export const CommissionQuery = Strict({
  from: Type.Optional(DateTimeText({ description: 'entries at or after (ISO 8601)' })),
  to: Type.Optional(DateTimeText({ description: 'entries before (ISO 8601)' }))
})
export const CommissionReport = Type.Object({
  items: Type.Array(Type.Object({
    currency: Currency,
    commission: Type.Ref(SignedMoney, { description: 'commission earned on sales' }),
    commissionReturned: Type.Ref(SignedMoney, { description: 'commission given back with refunds' }),
    discountFunding: Type.Ref(SignedMoney, { description: 'platform-funded discounts, net of those taken back with refunds (negative: the platform paid)' }),
    net: Type.Ref(SignedMoney, { description: 'what the platform kept' })
  }))
}, { examples: [{ items: [{ currency: 'usd', commission: usd(588), commissionReturned: usd(63), discountFunding: usd(0), net: usd(525) }] }] })

const TransferStatus = Type.Union(TRANSFER_STATUSES.map((s) => Type.Literal(s)))
export const AdminTransferQuery = Strict({ status: Type.Optional(TransferStatus), workspaceId: Type.Optional(Uuid()), ...PageQuery })
export const TransferView = Type.Object({
  id: Uuid(),
  orderId: Uuid(),
  workspaceId: Uuid(),
  kind: Type.Union([Type.Literal('sale'), Type.Literal('topup')]),
  amount: Type.Ref(Money),
  reversed: Type.Ref(Money, { description: 'reversals made or pending' }),
  status: TransferStatus,
  attempts: Type.Integer(),
  lastError: Nullable(Type.String()),
  stripeTransferId: Nullable(Type.String()),
  updatedAt: Timestamp()
}, {
  examples: [{ id: ids.transfer, orderId: ids.order, workspaceId: ids.ws, kind: 'sale', amount: usd(875), reversed: usd(0), status: 'queued', attempts: 1, lastError: 'transfers_not_allowed: …', stripeTransferId: null, updatedAt: '2026-12-03T10:00:00.000Z' }]
})
export const TransferPage = Page(TransferView, {
  examples: [{
    items: [{ id: ids.transfer, orderId: ids.order, workspaceId: ids.ws, kind: 'sale', amount: usd(1312), reversed: usd(437), status: 'paid', attempts: 1, lastError: null, stripeTransferId: 'tr_1Qx', updatedAt: '2026-12-03T10:00:00.000Z' }],
    nextCursor: null
  }]
})

export const TransferParams = Type.Object({ id: Uuid({ description: 'the transfer' }) })

const ReversalStatus = Type.Union(REVERSAL_STATUSES.map((s) => Type.Literal(s)))
export const AdminReversalQuery = Strict({ status: Type.Optional(ReversalStatus), workspaceId: Type.Optional(Uuid()), ...PageQuery })
export const ReversalView = Type.Object({
  id: Uuid(),
  transferId: Uuid(),
  orderId: Uuid(),
  workspaceId: Uuid(),
  refundId: Nullable(Uuid()),
  amount: Type.Ref(Money),
  status: Type.Union(REVERSAL_STATUSES.map((s) => Type.Literal(s)), { description: 'pending (waits for its transfer, or under way), paid, failed (the provider refused: the platform funded this vendor part; an operator must act), void (its transfer was refused before it was made: folded into the transfer\'s amount)' }),
  attempts: Type.Integer(),
  lastError: Nullable(Type.String()),
  stripeReversalId: Nullable(Type.String()),
  updatedAt: Timestamp()
})
export const ReversalPage = Page(ReversalView, {
  examples: [{
    items: [{ id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9ed0', transferId: ids.transfer, orderId: ids.order, workspaceId: ids.ws, refundId: null, amount: usd(437), status: 'failed', attempts: 1, lastError: 'insufficient_funds: …', stripeReversalId: null, updatedAt: '2026-12-03T10:00:00.000Z' }],
    nextCursor: null
  }]
})
