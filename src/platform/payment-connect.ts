import Stripe from 'stripe'
import type { Config } from '../config.ts'
import { BadGateway, Conflict } from './errors.ts'
import { stripeClient } from './payment-provider.ts'
import { simulatorTransfers, stripeTransfers } from './payment-transfers.ts'

// Stripe Connect (issue 14): what the platform asks of the provider for vendor payouts, behind
// one small interface like payment-provider.ts: Stripe (Express accounts, account links,
// transfers and their reversals), or, without credentials outside production, a simulator whose
// accounts live only in our database and are enabled through the simulator route.

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

const providerDown = (err: unknown) =>
  BadGateway('PAYMENT_PROVIDER_ERROR', 'The payment provider could not be reached; retry shortly.', { cause: err })

/** A request the provider understood and refused (4xx): retrying it changes nothing. Its code is kept. */
const providerRejected = (err: unknown) =>
  Conflict('PAYMENT_PROVIDER_REJECTED', `The payment provider refused the request: ${(err as Error).message}`, {
    cause: err,
    extra: { providerCode: (err as { code?: string }).code ?? null }
  })

/** 4xx → PAYMENT_PROVIDER_REJECTED (409, with Stripe's code); anything else → PAYMENT_PROVIDER_ERROR (502). */
export function connectError (err: unknown): Error {
  return err instanceof Stripe.errors.StripeInvalidRequestError || err instanceof Stripe.errors.StripePermissionError
    ? providerRejected(err)
    : providerDown(err)
}

const CAPABILITY_STATES = new Set(['active', 'inactive', 'pending'])

/** Our view of a Stripe account object. */
export function accountState (account: Stripe.Account): ConnectAccountState {
  const transfers = account.capabilities?.transfers
  return {
    id: account.id,
    chargesEnabled: account.charges_enabled ?? false,
    payoutsEnabled: account.payouts_enabled ?? false,
    detailsSubmitted: account.details_submitted ?? false,
    transfersCapability: transfers && CAPABILITY_STATES.has(transfers) ? transfers as ConnectAccountState['transfersCapability'] : null,
    requirementsDue: account.requirements?.currently_due ?? [],
    pastDue: account.requirements?.past_due ?? [],
    disabledReason: account.requirements?.disabled_reason ?? null
  }
}

function stripeConnect (config: Config): ConnectGateway {
  const stripe = stripeClient(config)
  return {
    provider: 'stripe',
    async createAccount ({ workspaceId, country, idempotencyKey }) {
      try {
        const account = await stripe.accounts.create({
          type: 'express',
          ...(country ? { country } : {}),
          capabilities: { transfers: { requested: true } },
          metadata: { workspaceId }
        }, { idempotencyKey })
        return accountState(account)
      } catch (err) {
        throw connectError(err)
      }
    },
    async createOnboardingLink ({ accountId, refreshUrl, returnUrl }) {
      try {
        const link = await stripe.accountLinks.create({ account: accountId, type: 'account_onboarding', refresh_url: refreshUrl, return_url: returnUrl })
        return { url: link.url, expiresAt: new Date(link.expires_at * 1000) }
      } catch (err) {
        throw connectError(err)
      }
    },
    async retrieveAccount (accountId) {
      try {
        return accountState(await stripe.accounts.retrieve(accountId))
      } catch (err) {
        throw connectError(err)
      }
    },
    ...stripeTransfers(stripe, connectError)
  }
}

/** The simulator's account id of a workspace: `acct_sim_` and the workspace id's hex digits. */
export function simulatedAccountId (workspaceId: string): string {
  return `acct_sim_${workspaceId.replace(/-/g, '')}`
}

/** The workspace of a simulated account id, or null when it is not one. */
export function simulatedAccountWorkspace (accountId: string): string | null {
  const hex = /^acct_sim_([0-9a-f]{32})$/.exec(accountId)?.[1]
  return hex ? `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` : null
}

/** A simulated account as just created: nothing submitted, nothing enabled. */
export function simulatedAccount (accountId: string, enabled = false, disabledReason: string | null = null): ConnectAccountState {
  return {
    id: accountId,
    chargesEnabled: enabled,
    payoutsEnabled: enabled,
    detailsSubmitted: enabled || disabledReason !== null,
    transfersCapability: enabled ? 'active' : 'inactive',
    requirementsDue: enabled ? [] : ['external_account', 'tos_acceptance.date'],
    pastDue: disabledReason === 'requirements.past_due' ? ['external_account'] : [],
    disabledReason
  }
}

/**
 * Development without Stripe: accounts exist only in our database. The onboarding link is the
 * simulator route that enables the account (POST it); transfers are recorded as made.
 */
function simulatorConnect (config: Config): ConnectGateway {
  return {
    provider: 'simulator',
    async createAccount ({ workspaceId }) { return simulatedAccount(simulatedAccountId(workspaceId)) },
    async createOnboardingLink ({ accountId }) {
      const workspaceId = simulatedAccountWorkspace(accountId) ?? accountId
      return { url: `${config.publicUrl}/payments/simulator/accounts/${workspaceId}/enable`, expiresAt: new Date(Date.now() + 300_000) }
    },
    // Nothing changes outside Bazaar here: the simulator route applies the state it simulates.
    async retrieveAccount (accountId) { return simulatedAccount(accountId) },
    ...simulatorTransfers()
  }
}

export function createConnectGateway (config: Config): ConnectGateway {
  return config.stripe.secretKey ? stripeConnect(config) : simulatorConnect(config)
}
