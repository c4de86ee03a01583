import type { Deps } from '../../platform/deps.ts'
import type { Trx } from '../../platform/db.ts'
import { outboxInsert } from '../../platform/outbox.ts'
import { applyAccountState, lockPayoutReadiness } from '../payouts/public.ts'
import { entryMaker } from './entries.ts'
import { KEY_PRUNE_MS, refusalCode, type LedgerDeps } from './ledger-deps.ts'

// A vendor transfer is made exactly once (plan §7.2): claimed in a short transaction (queued →
// in_flight, its amount frozen from then on, refunds after that become reversals), sent with
// an idempotency key naming the order, so any retry (a redelivered job, a worker killed mid-
// request, the sweep) replays the same transfer at the provider; settled once (in_flight →
// paid, with its ledger pair under a unique index). After the provider may have pruned the key
// (a day), a retry looks the transfer up by its group and our id before sending.

const REFUSED_FOR_NOW = new Set(['insufficient_capabilities_for_transfer', 'account_invalid'])

export type TransferOutcome = 'paid' | 'waiting' | 'failed' | 'skipped'

/** Queues the transfers that waited for this workspace's payouts (in the caller's transaction); returns how many. */
export async function releaseWaitingTransfers (trx: Trx, deps: Deps, workspaceId: string): Promise<number> {
  const released = await trx.updateTable('vendorTransfers').set({ status: 'queued', updatedAt: deps.clock.now() })
    .where('workspaceId', '=', workspaceId).where('status', '=', 'waiting').returning('id').execute()
  if (released.length > 0) await outboxInsert(trx, released.map((r) => ({ queue: 'payouts' as const, jobName: 'transfer', payload: { transferId: r.id } }))).execute()
  return released.length
}

async function claim (deps: LedgerDeps, transferId: string) {
  const row = await deps.db.selectFrom('vendorTransfers').select('workspaceId').where('id', '=', transferId).executeTakeFirst()
  if (!row) return null
  return deps.db.transaction().execute(async (trx) => {
    // Lock order as account.updated's: the payout account, then the transfer.
    const ready = (await lockPayoutReadiness(trx, [row.workspaceId])).get(row.workspaceId)
    const t = await trx.selectFrom('vendorTransfers').selectAll().where('id', '=', transferId).forUpdate().executeTakeFirstOrThrow()
    if (t.status !== 'queued' && t.status !== 'in_flight') return null
    const now = deps.clock.now()
    if (t.amount === 0) {
      await trx.updateTable('vendorTransfers').set({ status: 'void', updatedAt: now }).where('id', '=', t.id).execute()
      return null
    }
    if (t.status === 'queued' && (!ready?.enabled || !ready.accountId)) {
      await trx.updateTable('vendorTransfers').set({ status: 'waiting', updatedAt: now }).where('id', '=', t.id).execute()
      return null
    }
    if (!ready?.accountId) return null
    const claimed = await trx.updateTable('vendorTransfers')
      .set((eb) => ({ status: 'in_flight', attempts: eb('attempts', '+', 1), claimedAt: eb.fn.coalesce('claimedAt', eb.val(now)), updatedAt: now }))
      .where('id', '=', t.id).returningAll().executeTakeFirstOrThrow()
    return { ...claimed, accountId: ready.accountId }
  })
}

/** Settles a transfer the provider made: paid, and its ledger pair, once. */
async function settle (deps: LedgerDeps, transferId: string, stripeTransferId: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const now = deps.clock.now()
    const t = await trx.updateTable('vendorTransfers').set({ status: 'paid', stripeTransferId, paidAt: now, updatedAt: now, lastError: null })
      .where('id', '=', transferId).where('status', '=', 'in_flight').returning(['id', 'orderId', 'workspaceId', 'currency', 'amount']).executeTakeFirst()
    if (!t) return
    const e = entryMaker(deps, t.currency, { orderId: t.orderId, transferId: t.id })
    e.add(t.workspaceId, 'pending', 'transfer', -t.amount)
    e.add(t.workspaceId, 'paid_out', 'transfer', t.amount)
    await trx.insertInto('ledgerEntries').values(e.rows).onConflict((oc) => oc.doNothing()).execute()
  })
}

/** One key per transfer (the order names a sale's), renewed only after a refusal the provider kept under the old one. */
export function transferKey (t: { id: string, kind: string, orderId: string, refusals: number }): string {
  const base = t.kind === 'topup' ? `transfer-topup-${t.id}` : `transfer-${t.orderId}`
  return t.refusals === 0 ? base : `${base}-r${t.refusals}`
}

/** Makes one vendor transfer at the provider, exactly once. Throws to be retried (provider down). */
export async function processTransfer (deps: LedgerDeps, transferId: string): Promise<TransferOutcome> {
  const t = await claim(deps, transferId)
  if (!t) return 'skipped'
  const transferGroup = `checkout_${t.checkoutId}`
  if (t.attempts > 1 && t.claimedAt && deps.clock.now().getTime() - t.claimedAt.getTime() > KEY_PRUNE_MS) {
    const found = await deps.connect.findTransfer(transferGroup, t.id)
    if (found) {
      await settle(deps, t.id, found.id)
      return 'paid'
    }
  }
  try {
    const made = await deps.connect.createTransfer({
      amount: t.amount,
      currency: t.currency,
      destination: t.accountId,
      transferGroup,
      sourceTransaction: t.sourceChargeId,
      metadata: { transferId: t.id, orderId: t.orderId, checkoutId: t.checkoutId },
      idempotencyKey: transferKey(t)
    })
    await settle(deps, t.id, made.id)
    return 'paid'
  } catch (err) {
    const code = refusalCode(err)
    if (code === null) throw err
    return refused(deps, t, code, err as Error)
  }
}

async function refused (deps: LedgerDeps, t: { id: string, accountId: string, workspaceId: string }, code: string, err: Error): Promise<TransferOutcome> {
  const now = deps.clock.now()
  if (REFUSED_FOR_NOW.has(code)) {
    // The account cannot receive transfers now: wait for account.updated; our view of it is refreshed.
    await deps.db.updateTable('vendorTransfers').set((eb) => ({ status: 'waiting', lastError: code, refusals: eb('refusals', '+', 1), updatedAt: now })).where('id', '=', t.id).where('status', '=', 'in_flight').execute()
    deps.log.warn({ transferId: t.id, workspaceId: t.workspaceId, code }, 'transfer refused for now: it waits for the account')
    const state = await deps.connect.retrieveAccount(t.accountId).catch(() => null)
    if (state) {
      await deps.db.transaction().execute(async (trx) => {
        const applied = await applyAccountState(trx, deps, state)
        if (applied?.becameEnabled) await releaseWaitingTransfers(trx, deps, applied.workspaceId)
      })
    }
    return 'waiting'
  }
  if (code === 'balance_insufficient') {
    await deps.db.updateTable('vendorTransfers').set({ status: 'queued', lastError: code, updatedAt: now }).where('id', '=', t.id).where('status', '=', 'in_flight').execute()
    throw err
  }
  await deps.db.updateTable('vendorTransfers').set({ status: 'failed', lastError: `${code}: ${err.message}`.slice(0, 500), updatedAt: now }).where('id', '=', t.id).where('status', '=', 'in_flight').execute()
  deps.log.error({ transferId: t.id, workspaceId: t.workspaceId, code }, 'transfer refused by the provider: an operator must act (GET /admin/transfers?status=failed)')
  return 'failed'
}
