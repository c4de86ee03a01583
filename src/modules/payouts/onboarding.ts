import type { Deps } from '../../platform/deps.ts'
import type { ConnectAccountState, ConnectGateway } from '../../platform/payment-connect.ts'
import { accountStatus, type PayoutStatus } from './status.ts'

// Onboarding (plan §WP4): one Stripe Express account per workspace, made once whatever the
// number of concurrent calls, then a fresh onboarding link each time. The provider is called
// outside any row lock: the account is created with an idempotency key per workspace (so
// concurrent calls get the same account from Stripe), and its id is stored by a guarded update
// that only the first writer wins. The link is a short-lived bearer URL: returned, never stored
// or logged.

export interface PayoutDeps extends Deps { connect: ConnectGateway }

export interface OnboardingLink { url: string, expiresAt: Date, status: PayoutStatus, accountId: string }

export async function startOnboarding (deps: PayoutDeps, workspaceId: string): Promise<OnboardingLink> {
  const now = deps.clock.now()
  let account = await deps.db.insertInto('payoutAccounts')
    .values({ workspaceId, createdAt: now, updatedAt: now })
    .onConflict((oc) => oc.column('workspaceId').doUpdateSet({ workspaceId }))
    .returning(['stripeAccountId', 'status'])
    .executeTakeFirstOrThrow()
  if (account.stripeAccountId === null) {
    const created = await deps.connect.createAccount({
      workspaceId,
      ...(deps.config.payments.connectAccountCountry ? { country: deps.config.payments.connectAccountCountry } : {}),
      idempotencyKey: `connect-account-${workspaceId}`
    })
    account = await storeAccount(deps, workspaceId, created)
  }
  const accountId = account.stripeAccountId!
  const base = `${deps.config.appUrl}/workspaces/${workspaceId}/payouts`
  const link = await deps.connect.createOnboardingLink({ accountId, refreshUrl: `${base}?onboarding=refresh`, returnUrl: `${base}?onboarding=return` })
  return { url: link.url, expiresAt: link.expiresAt, status: account.status as PayoutStatus, accountId }
}

/** Stores a created account unless another call stored one first; then the stored one wins. */
async function storeAccount (deps: PayoutDeps, workspaceId: string, created: ConnectAccountState): Promise<{ stripeAccountId: string | null, status: string }> {
  const stored = await deps.db.updateTable('payoutAccounts')
    .set({
      stripeAccountId: created.id,
      status: accountStatus(created),
      chargesEnabled: created.chargesEnabled,
      payoutsEnabled: created.payoutsEnabled,
      detailsSubmitted: created.detailsSubmitted,
      transfersCapability: created.transfersCapability,
      requirementsDue: created.requirementsDue,
      disabledReason: created.disabledReason,
      updatedAt: deps.clock.now()
    })
    .where('workspaceId', '=', workspaceId)
    .where('stripeAccountId', 'is', null)
    .returning(['stripeAccountId', 'status'])
    .executeTakeFirst()
  if (stored) return stored
  const winner = await deps.db.selectFrom('payoutAccounts').select(['stripeAccountId', 'status']).where('workspaceId', '=', workspaceId).executeTakeFirstOrThrow()
  if (winner.stripeAccountId !== created.id) {
    // Only when Stripe no longer knew our key (pruned after a day): an extra empty account.
    deps.log.warn({ workspaceId, unused: created.id, kept: winner.stripeAccountId }, 'a second connected account was created and is not used')
  }
  return winner
}
