import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { Trx } from '../../platform/db.ts'
import { AppError } from '../../platform/errors.ts'
import { formatMoney, money } from '../../platform/money.ts'
import { emailInTransaction } from '../../emails.ts'
import type { ProviderRefund } from '../payments/gateway.ts'
import type { OrderDeps } from './service.ts'
import { reconcileRefunds } from './settlement.ts'

// Refunds. A refund is opened (a `pending` row) under the order's row lock, in the transaction
// that decides it, then asked of the provider after commit with a key derived from its id, and
// settled once: `pending → succeeded` is a guarded update, and only the statement that makes
// it adds the amount to the order. Whoever learns of the provider's refund first (our own
// request, a webhook that read the provider's list, the retry job) settles it; the others find
// it settled. Lock order everywhere: checkout, then orders by id, then refunds.

async function inFlight (trx: Trx, orderId: string): Promise<number> {
  const row = await trx.selectFrom('refunds').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount'), sql<number>`0`).as('amount'))
    .where('orderId', '=', orderId).where('status', '=', 'pending').executeTakeFirstOrThrow()
  return Number(row.amount)
}

/** What can still be refunded of a locked order: paid, minus refunded, minus refunds in flight. */
export async function refundableAmount (trx: Trx, order: { id: string, paidAmount: number, refundedAmount: number }): Promise<number> {
  return order.paidAmount - order.refundedAmount - await inFlight(trx, order.id)
}

/** The id of the refund a workspace request opens: derived from its Idempotency-Key, so a retry finds it. */
export function refundIdFor (orderId: string, userId: string, requestKey: string): string {
  const hex = createHash('sha256').update(`refund\n${orderId}\n${userId}\n${requestKey}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

export async function openRefund (trx: Trx, deps: Deps, orderId: string, amount: number, createdBy: string | null, reason: string | null, id = deps.random.uuid()): Promise<string> {
  const now = deps.clock.now()
  await trx.insertInto('refunds').values({ id, orderId, amount, status: 'pending', reason, createdBy, createdAt: now, updatedAt: now }).execute()
  return id
}

const AT_PROVIDER = 'refunded at the payment provider'

/** Changes what a (locked) order shows as refunded. */
async function changeRefunded (trx: Trx, deps: Deps, orderId: string, amount: number) {
  return trx.updateTable('orders').set((eb) => ({
    refundedAmount: eb('refundedAmount', '+', amount),
    paymentStatus: sql`case when refunded_amount + ${amount} >= paid_amount then 'refunded' when refunded_amount + ${amount} = 0 then 'paid' else 'partially_refunded' end`,
    updatedAt: deps.clock.now()
  })).where('id', '=', orderId).returning(['id', 'userId', 'workspaceId', 'totalAmount', 'currency']).executeTakeFirstOrThrow()
}

/**
 * A refund made in Stripe's dashboard while all that was left of the charge was already on its
 * way back in our refunds could only be counted on an order whose money was in flight; when
 * that refund of ours settles, the overlap is moved (as parts of the same provider refund) to
 * the other orders of the checkout that still hold money, so no order shows more refunded than
 * it paid and the refund our provider then refuses is reconciled for what is really left.
 */
async function moveProviderShares (trx: Trx, deps: Deps, orderId: string, checkoutId: string, overlap: number): Promise<void> {
  const rows = await trx.selectFrom('refunds').select(['id', 'amount', 'providerRefundId']).where('orderId', '=', orderId).where('status', '=', 'succeeded')
    .where('reason', '=', AT_PROVIDER).orderBy('createdAt', 'desc').orderBy('id').execute()
  const targets = (await trx.selectFrom('orders').select(['id', 'status', 'paidAmount', 'refundedAmount']).where('checkoutId', '=', checkoutId).where('id', '!=', orderId)
    .orderBy('id').execute()).sort((a, b) => Number(b.status === 'cancelled') - Number(a.status === 'cancelled'))
  let left = overlap
  for (const row of rows) {
    let kept = row.amount
    for (const target of targets) {
      const share = Math.min(target.paidAmount - target.refundedAmount, kept, left)
      if (share <= 0) continue
      const now = deps.clock.now()
      await trx.insertInto('refunds').values({ id: deps.random.uuid(), orderId: target.id, amount: share, status: 'succeeded', providerRefundId: row.providerRefundId, reason: AT_PROVIDER, createdBy: null, createdAt: now, updatedAt: now }).execute()
      await changeRefunded(trx, deps, target.id, share)
      target.refundedAmount += share
      kept -= share
      left -= share
    }
    if (kept === 0) await trx.deleteFrom('refunds').where('id', '=', row.id).execute()
    else if (kept !== row.amount) await trx.updateTable('refunds').set({ amount: kept, updatedAt: deps.clock.now() }).where('id', '=', row.id).execute()
    await changeRefunded(trx, deps, orderId, kept - row.amount)
    if (left === 0) break
  }
  if (left > 0) deps.log.error({ orderId, checkoutId, overlap: left }, 'refunds of an order exceed what it paid and fit nowhere else')
}

/** Adds a settled refund to its (locked) order and tells the customer. */
async function addToOrder (trx: Trx, deps: Deps, orderId: string, amount: number): Promise<void> {
  const order = await changeRefunded(trx, deps, orderId, amount)
  const who = await trx.selectFrom('users').select(['email', 'name']).where('id', '=', order.userId).executeTakeFirstOrThrow()
  const store = await trx.selectFrom('workspaces').select('name').where('id', '=', order.workspaceId).executeTakeFirstOrThrow()
  await emailInTransaction(trx, deps.sealer, 'order-refunded', who.email, {
    name: who.name,
    orderId: order.id,
    storeName: store.name,
    total: formatMoney(money(order.totalAmount, order.currency)),
    refunded: formatMoney(money(amount, order.currency)),
    link: `${deps.config.publicUrl}/orders/${order.id}`
  })
}

/** Marks our refund done at the provider, once; returns whether this call settled it. */
export async function settleRefund (trx: Trx, deps: Deps, refundId: string, providerRefundId: string): Promise<boolean> {
  const refund = await trx.selectFrom('refunds as r').innerJoin('orders as o', 'o.id', 'r.orderId').select(['r.orderId', 'o.checkoutId']).where('r.id', '=', refundId).executeTakeFirst()
  if (!refund) return false
  // The lock order of every money decision: the checkout, then its orders by id.
  await trx.selectFrom('checkouts').select('id').where('id', '=', refund.checkoutId).forUpdate().execute()
  await trx.selectFrom('orders').select('id').where('checkoutId', '=', refund.checkoutId).orderBy('id').forUpdate().execute()
  // A refund marked failed that the provider did make after all (a lost response) counts too.
  const settled = await trx.updateTable('refunds').set({ status: 'succeeded', providerRefundId, updatedAt: deps.clock.now() })
    .where('id', '=', refundId).where('status', 'in', ['pending', 'failed']).returning(['amount', 'orderId']).executeTakeFirst()
  if (!settled) return false
  const order = await trx.selectFrom('orders').select(['paidAmount', 'refundedAmount']).where('id', '=', settled.orderId).executeTakeFirstOrThrow()
  const overlap = order.refundedAmount + settled.amount - order.paidAmount
  if (overlap > 0) await moveProviderShares(trx, deps, settled.orderId, refund.checkoutId, overlap)
  await addToOrder(trx, deps, settled.orderId, settled.amount)
  return true
}

/**
 * Asks the provider for a refund (idempotency key derived from our refund id: a retry never
 * refunds twice) and settles it. A refusal marks it failed; an unreachable provider leaves it
 * pending for the retry job (still counted as in flight, so nothing is refunded twice).
 */
export async function executeRefund (deps: OrderDeps, refundId: string, options: { reconcileOnRefusal?: boolean } = {}): Promise<void> {
  const refund = await deps.db.selectFrom('refunds as r').innerJoin('orders as o', 'o.id', 'r.orderId').innerJoin('checkouts as c', 'c.id', 'o.checkoutId')
    .select(['r.id', 'r.amount', 'r.status', 'r.orderId', 'o.checkoutId', 'c.paymentIntentId']).where('r.id', '=', refundId).executeTakeFirstOrThrow()
  if (refund.status !== 'pending') return
  let providerRefund
  try {
    if (!refund.paymentIntentId) throw new AppError(409, 'PAYMENT_PROVIDER_REJECTED', 'the checkout has no payment intent')
    providerRefund = await deps.gateway.refund({
      paymentIntentId: refund.paymentIntentId,
      amount: refund.amount,
      idempotencyKey: `refund-${refund.id}`,
      metadata: { refundId: refund.id, orderId: refund.orderId, checkoutId: refund.checkoutId }
    })
  } catch (err) {
    if (err instanceof AppError && err.code === 'PAYMENT_PROVIDER_REJECTED') {
      await deps.db.updateTable('refunds').set({ status: 'failed', updatedAt: deps.clock.now() }).where('id', '=', refund.id).where('status', '=', 'pending').execute()
      deps.log.warn({ refundId: refund.id, orderId: refund.orderId, err }, 'the provider refused a refund; reading its refunds back')
      // Usually a refund made elsewhere (the dashboard) took that money first: record it, and
      // give a cancelled order what is left of its share.
      if (options.reconcileOnRefusal !== false) await reconcileRefunds(deps, refund.checkoutId).catch((e) => deps.log.error({ checkoutId: refund.checkoutId, err: e }, 'refunds could not be reconciled'))
      throw err
    }
    throw new AppError(502, 'PAYMENT_PROVIDER_ERROR', 'The refund is recorded but the payment provider could not be reached; it is retried automatically.', { cause: err })
  }
  await deps.db.transaction().execute((trx) => settleRefund(trx, deps, refund.id, providerRefund.id))
}

/** Runs refunds after a commit; one that fails stays pending for the retry job. */
export async function executeRefunds (deps: OrderDeps, refundIds: string[]): Promise<void> {
  for (const id of refundIds) {
    try {
      await executeRefund(deps, id)
    } catch (err) {
      deps.log.warn({ refundId: id, err }, 'refund not completed now; the order-expiry job retries it')
    }
  }
}

/** Refunds left pending (a crash or an unreachable provider after their commit) are asked again. */
export async function retryPendingRefunds (deps: OrderDeps, olderThanMs = 60_000, batch = 50): Promise<number> {
  const cutoff = new Date(deps.clock.now().getTime() - olderThanMs)
  const rows = await deps.db.selectFrom('refunds').select('id').where('status', '=', 'pending').where('updatedAt', '<', cutoff).orderBy('createdAt').limit(batch).execute()
  await executeRefunds(deps, rows.map((r) => r.id))
  return rows.length
}

/**
 * Applies the provider's list of refunds of a checkout whose payment is applied and whose
 * checkout and order rows the caller has locked: ours are settled; the others (made in the
 * provider's dashboard) are recorded once by provider id and spread over the live orders.
 * Returns the amount that fitted nowhere (0 normally).
 */
export async function applyProviderRefunds (trx: Trx, deps: Deps, checkoutId: string, providerRefunds: ProviderRefund[]): Promise<number> {
  let unplaced = 0
  for (const pr of providerRefunds.filter((r) => r.status === 'succeeded' || r.status === 'pending')) {
    const ours = pr.metadata.refundId
      ? await trx.selectFrom('refunds as r').innerJoin('orders as o', 'o.id', 'r.orderId').select('r.id').where('r.id', '=', pr.metadata.refundId).where('o.checkoutId', '=', checkoutId).executeTakeFirst()
      : undefined
    if (ours) { await settleRefund(trx, deps, ours.id, pr.id); continue }
    const known = await trx.selectFrom('refunds').select('id').where('providerRefundId', '=', pr.id).executeTakeFirst()
    if (known) continue
    const orders = await trx.selectFrom('orders').select(['id', 'status'])
      .where('checkoutId', '=', checkoutId).where('paidAmount', '>', 0).orderBy('id').forUpdate().execute()
    let left = pr.amount
    // Where it belongs least ambiguously first: what cancelled orders still hold, then the
    // standing orders; both net of our refunds in flight. Last (the provider refuses ours if
    // the charge cannot cover them, and they are reconciled then), whatever was paid.
    for (const pass of ['cancelled', 'standing', 'any'] as const) {
      for (const order of orders) {
        if (left === 0) break
        if ((pass === 'cancelled') !== (order.status === 'cancelled') && pass !== 'any') continue
        const current = await trx.selectFrom('orders').select(['paidAmount', 'refundedAmount']).where('id', '=', order.id).executeTakeFirstOrThrow()
        const room = pass === 'any' ? current.paidAmount - current.refundedAmount : await refundableAmount(trx, { id: order.id, ...current })
        const share = Math.min(room, left)
        if (share <= 0) continue
        const now = deps.clock.now()
        await trx.insertInto('refunds').values({ id: deps.random.uuid(), orderId: order.id, amount: share, status: 'succeeded', providerRefundId: pr.id, reason: AT_PROVIDER, createdBy: null, createdAt: now, updatedAt: now }).execute()
        await addToOrder(trx, deps, order.id, share)
        left -= share
      }
    }
    unplaced += left
  }
  return unplaced
}

/**
 * Opens refunds for what cancelled orders of a checkout still hold (paid, not refunded, not in
 * flight), within what is left of the charge. The caller holds the checkout's and its orders'
 * locks and executes the returned refunds after commit.
 */
export async function refundCancelledRemainders (trx: Trx, deps: Deps, checkoutId: string, chargeLeft: number): Promise<string[]> {
  const orders = await trx.selectFrom('orders').select(['id', 'paidAmount', 'refundedAmount'])
    .where('checkoutId', '=', checkoutId).where('status', '=', 'cancelled').where('paidAmount', '>', 0).orderBy('id').execute()
  const all = await trx.selectFrom('refunds as r').innerJoin('orders as o', 'o.id', 'r.orderId')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('r.amount'), sql<number>`0`).as('amount'))
    .where('o.checkoutId', '=', checkoutId).where('r.status', '=', 'pending').executeTakeFirstOrThrow()
  let left = chargeLeft - Number(all.amount)
  const ids: string[] = []
  for (const order of orders) {
    const amount = Math.min(await refundableAmount(trx, order), left)
    if (amount <= 0) continue
    ids.push(await openRefund(trx, deps, order.id, amount, null, 'order cancelled'))
    left -= amount
  }
  return ids
}
