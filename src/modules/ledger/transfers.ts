import type { Deps } from '../../platform/deps.ts'
import { Conflict, NotFound } from '../../platform/errors.ts'
import type { Trx } from '../../platform/db.ts'
import { outboxInsert } from '../../platform/outbox.ts'
import { applyAccountState, lockPayoutReadiness } from '../payouts/public.ts'
import { payoutTransfers } from './counters.ts'
import { entryMaker } from './entries.ts'
import { KEY_PRUNE_MS, refusalCode, type LedgerDeps } from './ledger-deps.ts'

// A vendor transfer is made exactly once (plan §7.2): claimed in a short transaction (queued →
// in_flight, its amount frozen from then on, refunds after that become reversals), sent with
// an idempotency key naming the order, so any retry (a redelivered job, a worker killed mid-
// request, the sweep) replays the same transfer at the provider; settled once (in_flight →
// paid, with its ledger pair under a unique index). A refusal was no transfer: the row leaves
// in_flight with what is owed now (its pending reversals folded in) and a new key. After the
// provider may have pruned the key (a day), a retry looks the transfer up by its group and our
// id before sending.

const REFUSED_FOR_NOW = new Set(['insufficient_capabilities_for_transfer', 'account_invalid'])

export type TransferOutcome = 'paid' | 'waiting' | 'failed' | 'skipped'

/** Queues the transfers that waited for this workspace's payouts (in the caller's transaction); returns how many. */
export async function releaseWaitingTransfers (trx: Trx, deps: Deps, workspaceId: string): Promise<number> {
  // Rows another transaction holds (a refund lowering one, under its checkout's locks) are
  // skipped, not waited for: a release over many rows waiting on one that a refund holds, while
  // that refund waits on another this release took, would deadlock. The sweep releases the
  // skipped ones within a minute.
  const free = trx.selectFrom('vendorTransfers').select('id').where('workspaceId', '=', workspaceId).where('status', '=', 'waiting').forNoKeyUpdate().skipLocked()
  const released = await trx.updateTable('vendorTransfers').set({ status: 'queued', updatedAt: deps.clock.now() })
    .where('id', 'in', free).returning('id').execute()
  if (released.length > 0) await outboxInsert(trx, released.map((r) => ({ queue: 'payouts' as const, jobName: 'transfer', payload: { transferId: r.id } }))).execute()
  return released.length
}

type Claimed = NonNullable<Awaited<ReturnType<typeof claim>>>

async function claim (deps: LedgerDeps, transferId: string) {
  const row = await deps.db.selectFrom('vendorTransfers').select('workspaceId').where('id', '=', transferId).executeTakeFirst()
  if (!row) return null
  return deps.db.transaction().execute(async (trx) => {
    // Lock order as account.updated's: the payout account, then the transfer.
    const ready = (await lockPayoutReadiness(trx, [row.workspaceId])).get(row.workspaceId)
    const t = await trx.selectFrom('vendorTransfers').selectAll().where('id', '=', transferId).forNoKeyUpdate().executeTakeFirstOrThrow()
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

/** An operator's retry of a transfer the provider refused for good: queued again, with what is owed now, under a new key. */
export async function retryTransfer (deps: Deps, transferId: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const t = await trx.selectFrom('vendorTransfers').selectAll().where('id', '=', transferId).forNoKeyUpdate().executeTakeFirst()
    if (!t) throw NotFound('TRANSFER_NOT_FOUND', 'No such transfer.')
    if (t.status !== 'failed') throw Conflict('TRANSFER_NOT_FAILED', `Only a failed transfer is retried; this one is ${t.status}.`)
    const amount = t.kind === 'sale' ? await owedNow(trx, t) : t.amount
    await trx.updateTable('vendorTransfers').set((eb) => ({ status: 'queued', amount, refusals: eb('refusals', '+', 1), updatedAt: deps.clock.now() })).where('id', '=', t.id).execute()
    await outboxInsert(trx, [{ queue: 'payouts' as const, jobName: 'transfer', payload: { transferId: t.id } }]).execute()
  })
  deps.log.info({ transferId }, 'a failed transfer was queued again by an operator')
}

/** Settles a transfer the provider made: paid, and its ledger pair, once. */
async function settle (deps: LedgerDeps, claimed: Claimed, stripeTransferId: string): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const now = deps.clock.now()
    // Only under the key it was made with (the claim's refusals): any claim of that key made this transfer.
    const t = await trx.updateTable('vendorTransfers').set({ status: 'paid', stripeTransferId, paidAt: now, updatedAt: now, lastError: null })
      .where('id', '=', claimed.id).where('status', '=', 'in_flight').where('refusals', '=', claimed.refusals)
      .returning(['id', 'orderId', 'workspaceId', 'currency', 'amount']).executeTakeFirst()
    if (!t) {
      const current = await trx.selectFrom('vendorTransfers').select(['status', 'refusals', 'stripeTransferId']).where('id', '=', claimed.id).executeTakeFirst()
      if (current?.stripeTransferId !== stripeTransferId) deps.log.error({ transferId: claimed.id, stripeTransferId, current }, 'a transfer made for a claim no longer held: reconcile it by hand')
      return
    }
    const e = entryMaker(deps, t.currency, { orderId: t.orderId, transferId: t.id })
    deps.metrics.count(payoutTransfers, { outcome: 'paid' })
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
      await settle(deps, t, found.id)
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
    await settle(deps, t, made.id)
    return 'paid'
  } catch (err) {
    const code = refusalCode(err)
    if (code === null) throw err
    return refused(deps, t, code, err as Error)
  }
}

/** What the vendor is owed on the order now (share − vendorPart(refunded)): its pending rows other than transfers. */
async function owedNow (trx: Trx, t: { orderId: string, workspaceId: string, currency: string }): Promise<number> {
  const row = await trx.selectFrom('ledgerEntries').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount'), eb.lit(0)).as('sum'))
    .where('orderId', '=', t.orderId).where('workspaceId', '=', t.workspaceId).where('currency', '=', t.currency)
    .where('bucket', '=', 'pending').where('type', 'not in', ['transfer', 'transfer_reversal']).executeTakeFirstOrThrow()
  return Math.max(0, Number(row.sum))
}

/**
 * A refused transfer was not made: it leaves in_flight (only if this claim still holds it: a
 * stale duplicate job never moves a newer claim) carrying what is owed now, its pending
 * reversals folded in (void), and a new key for its next try, since its amount may change.
 */
async function release (deps: LedgerDeps, t: Claimed, status: 'waiting' | 'queued' | 'failed', lastError: string): Promise<boolean> {
  return deps.db.transaction().execute(async (trx) => {
    const now = deps.clock.now()
    const held = await trx.selectFrom('vendorTransfers').select('id').where('id', '=', t.id).where('status', '=', 'in_flight')
      .where('attempts', '=', t.attempts).where('refusals', '=', t.refusals).forNoKeyUpdate().executeTakeFirst()
    if (!held) return false
    const amount = t.kind === 'sale' ? await owedNow(trx, t) : t.amount
    await trx.updateTable('transferReversals').set({ status: 'void', updatedAt: now }).where('transferId', '=', t.id).where('status', '=', 'pending').execute()
    await trx.updateTable('vendorTransfers').set((eb) => ({ status, amount, lastError, refusals: eb('refusals', '+', 1), updatedAt: now })).where('id', '=', t.id).execute()
    return true
  })
}

async function refused (deps: LedgerDeps, t: Claimed, code: string, err: Error): Promise<TransferOutcome> {
  if (REFUSED_FOR_NOW.has(code)) {
    // The account cannot receive transfers now: wait for account.updated; our view of it is refreshed.
    if (!await release(deps, t, 'waiting', code)) return stale(deps, t, code)
    deps.metrics.count(payoutTransfers, { outcome: 'waiting' })
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
    // The provider keeps this answer under its key: the retry (the job's backoff) goes with a new one.
    if (!await release(deps, t, 'queued', code)) return stale(deps, t, code)
    deps.metrics.count(payoutTransfers, { outcome: 'retried' })
    throw err
  }
  if (!await release(deps, t, 'failed', `${code}: ${err.message}`.slice(0, 500))) return stale(deps, t, code)
  deps.metrics.count(payoutTransfers, { outcome: 'failed' })
  deps.log.error({ transferId: t.id, workspaceId: t.workspaceId, code }, 'transfer refused by the provider: an operator must act (GET /admin/transfers?status=failed, POST /admin/transfers/:id/retry)')
  return 'failed'
}

function stale (deps: LedgerDeps, t: Claimed, code: string): TransferOutcome {
  deps.log.warn({ transferId: t.id, attempts: t.attempts, refusals: t.refusals, code }, 'a refusal for a claim no longer held: left to the newer claim')
  return 'skipped'
}
