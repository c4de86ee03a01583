import { Type, type Static } from '@sinclair/typebox'
import { MoneyRef } from '../../platform/money.ts'
import { Page, PageQuery } from '../../platform/pagination.ts'
import { DateTimeText, Nullable, NullableTimestamp, Strict, Text, Timestamp, Uuid } from '../../platform/schema-types.ts'

// Promotion codes (issue 14, plan §4 WP2): platform codes (admins) and a workspace's own codes.

/** A code as customers type it: 3 to 32 letters, digits, `_` or `-`; compared case-insensitively. */
export const CODE_PATTERN = '^[A-Za-z0-9_-]{3,32}$'
export const Code = Type.String({ minLength: 3, maxLength: 32, pattern: CODE_PATTERN, description: 'letters, digits, _ or -, 3 to 32; case does not matter', examples: ['WELCOME10'] })
const Kind = Type.Union([Type.Literal('percent'), Type.Literal('fixed')], { description: 'percent: percentBps off what the code covers; fixed: amountOff (never more than what it covers)' })
const FundedBy = Type.Union([Type.Literal('platform'), Type.Literal('vendor')], { description: 'who pays for the discount: platform (the vendor is paid as if undiscounted) or vendor' })
const When = (description: string) => DateTimeText({ description })
const Count = (description: string) => Type.Integer({ minimum: 1, maximum: 1_000_000_000, description })

const terms = {
  code: Code,
  kind: Kind,
  percentBps: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'percent codes: basis points off (1000 = 10 %)' })),
  amountOff: Type.Optional(MoneyRef),
  minSubtotal: Type.Optional(MoneyRef),
  startsAt: Type.Optional(When('usable from (default: now)')),
  endsAt: Type.Optional(When('usable until, exclusive (default: no end)')),
  maxUses: Type.Optional(Count('uses in all (default: no limit)')),
  maxUsesPerCustomer: Type.Optional(Count('uses per customer (default: no limit)'))
}

export const CreatePlatformPromotionBody = Strict({ ...terms, fundedBy: FundedBy }, {
  description: 'fixed codes need amountOff, percent codes percentBps; minSubtotal is in the currency of amountOff (a percent code with minSubtotal covers only lines of that currency)',
  examples: [{ code: 'WELCOME10', kind: 'percent', percentBps: 1000, minSubtotal: { amount: 5000, currency: 'usd' }, maxUses: 1000, maxUsesPerCustomer: 1, fundedBy: 'platform' }]
})
export type CreatePlatformPromotionBody = Static<typeof CreatePlatformPromotionBody>
export const CreateWorkspacePromotionBody = Strict(terms, {
  description: 'the workspace funds its codes; they cover only its own lines',
  examples: [{ code: 'SHOP5OFF', kind: 'fixed', amountOff: { amount: 500, currency: 'usd' }, endsAt: '2027-01-31T23:59:59.000Z' }]
})
export type CreateWorkspacePromotionBody = Static<typeof CreateWorkspacePromotionBody>
export type CreatePromotionBody = CreateWorkspacePromotionBody & { fundedBy?: 'platform' | 'vendor' }

export const UpdatePromotionBody = Strict({
  isActive: Type.Optional(Type.Boolean()),
  endsAt: Type.Optional(Nullable(When('null: no end'))),
  maxUses: Type.Optional(Nullable(Count('null: no limit; below the uses made is 409 BELOW_USAGE'))),
  maxUsesPerCustomer: Type.Optional(Nullable(Count('null: no limit')))
}, { minProperties: 1, examples: [{ isActive: false }, { maxUses: 500, endsAt: '2027-01-31T23:59:59.000Z' }] })
export type UpdatePromotionBody = Static<typeof UpdatePromotionBody>

const promotionExample = {
  id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9ea1',
  code: 'WELCOME10',
  scope: 'platform',
  workspaceId: null,
  kind: 'percent',
  percentBps: 1000,
  amountOff: null,
  minSubtotal: { amount: 5000, currency: 'usd' },
  fundedBy: 'platform',
  startsAt: null,
  endsAt: null,
  maxUses: 1000,
  maxUsesPerCustomer: 1,
  usedCount: 12,
  isActive: true,
  createdAt: '2026-12-01T10:00:00.000Z',
  updatedAt: '2026-12-01T10:00:00.000Z'
}

export const PromotionView = Type.Object({
  id: Uuid(),
  code: Type.String({ description: 'as created' }),
  scope: Type.Union([Type.Literal('platform'), Type.Literal('workspace')]),
  workspaceId: Nullable(Uuid()),
  kind: Kind,
  percentBps: Nullable(Type.Integer()),
  amountOff: Nullable(MoneyRef),
  minSubtotal: Nullable(MoneyRef),
  fundedBy: FundedBy,
  startsAt: NullableTimestamp(),
  endsAt: NullableTimestamp(),
  maxUses: Nullable(Type.Integer()),
  maxUsesPerCustomer: Nullable(Type.Integer()),
  usedCount: Type.Integer({ description: 'checkouts that used it; uses are never given back (cancel, expiry, refund)' }),
  isActive: Type.Boolean(),
  createdAt: Timestamp(),
  updatedAt: Timestamp()
}, { examples: [promotionExample] })
export type PromotionView = Static<typeof PromotionView>
export const PromotionPage = Page(PromotionView, { examples: [{ items: [promotionExample], nextCursor: null }] })

export const AdminPromotionQuery = Strict({
  q: Type.Optional(Text({ minLength: 1, maxLength: 32, description: 'part of the code' })),
  active: Type.Optional(Type.Boolean({ description: 'only active (true) or inactive (false) codes' })),
  ...PageQuery
})
export type AdminPromotionQuery = Static<typeof AdminPromotionQuery>
export const WorkspacePromotionQuery = Strict(PageQuery)
export type WorkspacePromotionQuery = Static<typeof WorkspacePromotionQuery>

export const PromotionParams = Type.Object({ id: Uuid() })
export const WorkspacePromotionParams = Type.Object({ wid: Uuid(), id: Uuid() })
export const WorkspaceParams = Type.Object({ wid: Uuid() })

export const ApplyCodeBody = Strict({ code: Code }, { examples: [{ code: 'WELCOME10' }] })
