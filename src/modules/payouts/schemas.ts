import { Type, type Static } from '@sinclair/typebox'
import { Nullable, NullableTimestamp, Strict, Timestamp, Uuid } from '../../platform/schema-types.ts'

const ACCOUNT = 'acct_1Q2w3E4r5T6y7U8i'

export const PayoutStatusSchema = Type.Union(['not_started', 'pending', 'enabled', 'restricted'].map((s) => Type.Literal(s)), {
  description: 'not_started: no connected account yet; pending: onboarding unfinished or under review; enabled: transfers can be made; restricted: Stripe needs something (see requirementsDue and disabledReason)'
})

export const WorkspaceParams = Type.Object({ id: Uuid() })

export const OnboardingLinkView = Type.Object({
  url: Type.String({ description: 'Stripe\'s hosted onboarding page for the owner to open now: single use, expires in minutes (a bearer URL: do not store or share it). In simulator mode, a simulator route to POST.' }),
  expiresAt: Timestamp({ description: 'when the link stops working; ask for a new one then' }),
  status: PayoutStatusSchema,
  accountId: Type.String({ description: 'the workspace\'s Stripe connected account (Express)' })
}, { examples: [{ url: `https://connect.stripe.com/setup/e/${ACCOUNT}/Xy12`, expiresAt: '2026-12-03T10:05:00.000Z', status: 'pending', accountId: ACCOUNT }] })

export const PayoutAccountView = Type.Object({
  status: PayoutStatusSchema,
  accountId: Nullable(Type.String()),
  chargesEnabled: Type.Boolean(),
  payoutsEnabled: Type.Boolean(),
  detailsSubmitted: Type.Boolean(),
  requirementsDue: Type.Array(Type.String(), { description: 'what Stripe currently needs from the vendor (Stripe\'s requirement names)' }),
  disabledReason: Nullable(Type.String({ description: 'Stripe\'s reason the account cannot be paid, e.g. requirements.past_due' })),
  commissionBps: Type.Integer({ minimum: 0, maximum: 10000, description: 'the platform\'s commission on this workspace\'s new orders, in basis points (1000 = 10 %)' }),
  commissionSource: Type.Union([Type.Literal('default'), Type.Literal('override')], { description: 'default: the platform\'s PLATFORM_COMMISSION_BPS; override: set by a platform admin' }),
  updatedAt: NullableTimestamp()
}, {
  examples: [{
    status: 'enabled',
    accountId: ACCOUNT,
    chargesEnabled: true,
    payoutsEnabled: true,
    detailsSubmitted: true,
    requirementsDue: [],
    disabledReason: null,
    commissionBps: 1000,
    commissionSource: 'default',
    updatedAt: '2026-12-03T10:00:00.000Z'
  }]
})
export type PayoutAccountView = Static<typeof PayoutAccountView>

export const CommissionBody = Strict({
  commissionBps: Nullable(Type.Integer({ minimum: 0, maximum: 10000, description: 'basis points 0-10000 (1250 = 12.5 %); null returns the workspace to the platform default' }))
}, { examples: [{ commissionBps: 1250 }, { commissionBps: null }] })
