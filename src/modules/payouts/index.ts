import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { problems } from '../../platform/errors.ts'
import type { ConnectGateway } from '../../platform/payment-connect.ts'
import { principalOf } from '../../platform/principal.ts'
import { payoutAccountView, setCommission } from './commission.ts'
import { startOnboarding, type PayoutDeps } from './onboarding.ts'
import { CommissionBody, OnboardingLinkView, PayoutAccountView, WorkspaceParams } from './schemas.ts'

const tags = ['payouts']

// Vendor payouts through Stripe Connect (Express): the owner onboards the workspace's account,
// owners and admins see its state, platform admins set its commission.

const payouts: FastifyPluginAsyncTypebox<{ connect: ConnectGateway }> = async (app, { connect }) => {
  const deps: PayoutDeps = { ...app.deps, connect }

  app.post('/workspaces/:id/payouts/onboarding', {
    // The answer holds a bearer URL: never kept in the idempotency store. Calling again is safe
    // anyway (the same account, a fresh link).
    config: { auth: 'user', workspace: 'payouts:manage', idempotency: 'off' },
    schema: {
      operationId: 'startPayoutOnboarding',
      tags,
      summary: 'Start (or continue) Stripe onboarding for the workspace\'s payouts (owner)',
      description: 'Creates the workspace\'s Stripe Express connected account the first time (one account per workspace, however many calls race), then returns a fresh single-use onboarding link for the owner to open. Stripe sends the owner back to APP_URL/workspaces/{id}/payouts?onboarding=return (or ?onboarding=refresh when the link expired). The account becomes enabled when Stripe reports it (account.updated). Needs the payouts:manage permission (the owner). In simulator mode (no Stripe key) the link is the simulator route that enables the account: POST it. 502 when Stripe cannot be reached (retry).',
      params: WorkspaceParams,
      response: { 200: OnboardingLinkView, ...problems(403, 404, 409, 502) }
    }
  }, async (request) => startOnboarding(deps, request.params.id))

  app.get('/workspaces/:id/payouts', {
    config: { auth: 'user', workspace: 'orders:refund' },
    schema: {
      operationId: 'getPayoutAccount',
      tags,
      summary: 'The workspace\'s payout account: onboarding status and commission',
      description: 'Status not_started (no account yet), pending (onboarding unfinished or under review), enabled (transfers are made), restricted (Stripe needs something: requirementsDue, disabledReason). commissionBps is what new orders pay the platform (frozen on each order at checkout). Needs the orders:refund permission (owner, admin).',
      params: WorkspaceParams,
      response: { 200: PayoutAccountView }
    }
  }, async (request) => payoutAccountView(deps, deps.db, request.params.id))

  app.put('/admin/workspaces/:id/commission', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'setWorkspaceCommission',
      tags: ['admin', ...tags],
      summary: 'Set or reset a workspace\'s commission (platform admins)',
      description: 'commissionBps 0-10000 (basis points: 1250 = 12.5 %) overrides PLATFORM_COMMISSION_BPS for this workspace; null returns it to the default. Applies to orders placed from now on: placed orders keep the commission frozen at their checkout.',
      params: WorkspaceParams,
      body: CommissionBody,
      response: { 200: PayoutAccountView, ...problems(404) }
    }
  }, async (request) => setCommission(deps, principalOf(request).userId, request.params.id, request.body.commissionBps))
}

export default payouts
