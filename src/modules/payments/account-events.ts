import type { Deps } from '../../platform/deps.ts'
import { NotFound } from '../../platform/errors.ts'
import { simulatedAccount, type ConnectAccountState, type ConnectGateway } from '../../platform/payment-connect.ts'
import type { PaymentEvent } from '../../platform/payment-provider.ts'
import { releaseWaitingTransfers } from '../ledger/public.ts'
import { applyAccountState, payoutAccountOf } from '../payouts/public.ts'

// account.updated (Stripe Connect), each event applied once. The event's own snapshot is not
// trusted for its order: the account is read from Stripe before the transaction (no row lock
// over a network call; if Stripe cannot be reached the answer is 502 and Stripe delivers the
// event again), so whatever order events arrive in, the state applied is Stripe's current one,
// and an older read never overwrites a newer one (payouts' applyAccountState). The event id is
// recorded in the same transaction as its effect: a redelivered or concurrent copy does nothing.

export interface AccountEventDeps extends Deps { connect: ConnectGateway }

export async function processAccountEvent (deps: AccountEventDeps, event: PaymentEvent): Promise<{ duplicate: boolean }> {
  const accountId = event.account ?? event.data.object.id
  const seen = await deps.db.selectFrom('paymentEvents').select('id').where('id', '=', event.id).executeTakeFirst()
  if (seen) return { duplicate: true }
  // An account that is not ours (another platform's, a deleted workspace's) is recorded and ignored, never read.
  const ours = await payoutAccountOf(deps.db, { accountId })
  const observedAt = deps.clock.now()
  const state = ours ? await deps.connect.retrieveAccount(accountId) : null
  return applyAccountEvent(deps, event, state, observedAt)
}

/** In one transaction: the event recorded once, the account's state applied, its waiting transfers released when it became payable. */
export async function applyAccountEvent (deps: Deps, event: PaymentEvent, state: ConnectAccountState | null, observedAt: Date): Promise<{ duplicate: boolean }> {
  return deps.db.transaction().execute(async (trx) => {
    const recorded = await trx.insertInto('paymentEvents')
      .values({ id: event.id, type: event.type, paymentIntentId: null, receivedAt: deps.clock.now() })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst()
    if (!recorded) return { duplicate: true }
    const applied = state ? await applyAccountState(trx, deps, state, observedAt) : null
    if (!applied) {
      deps.log.info({ eventId: event.id, type: event.type }, 'account event for no account of ours; recorded and ignored')
    } else if (applied.becameEnabled) {
      const released = await releaseWaitingTransfers(trx, deps, applied.workspaceId)
      deps.log.info({ workspaceId: applied.workspaceId, released }, 'payouts enabled; waiting transfers released')
    }
    return { duplicate: false }
  })
}

/**
 * The local simulator (no Stripe credentials, never in production): completes (enable) or
 * restricts a workspace's simulated account through the very path of a verified event.
 */
export async function simulateAccount (deps: Deps, workspaceId: string, outcome: 'enable' | 'restrict'): Promise<{ duplicate: boolean }> {
  const account = await payoutAccountOf(deps.db, { workspaceId })
  if (!account) throw NotFound('NOT_FOUND', 'No onboarding was started for this workspace: POST /workspaces/{id}/payouts/onboarding first.')
  const state = simulatedAccount(account.accountId, outcome === 'enable', outcome === 'restrict' ? 'requirements.past_due' : null)
  const event: PaymentEvent = { id: `evt_sim_${deps.random.token(12)}`, type: 'account.updated', account: account.accountId, data: { object: { id: account.accountId, object: 'account' } } }
  return applyAccountEvent(deps, event, state, deps.clock.now())
}
