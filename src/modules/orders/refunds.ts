import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { Trx } from '../../platform/db.ts'
import { AppError, BadGateway, Conflict, Unprocessable } from '../../platform/errors.ts'
import { requireRecentAuthentication, type Principal } from '../../platform/principal.ts'
import { lockOrder } from './lifecycle.ts'
import type { OrderDeps } from './order-deps.ts'
import { reconcileRefunds } from './payment-outcomes.ts'
import { getWorkspaceOrder } from './queries.ts'
import { settleRefund } from './refund-settlement.ts'
import type { WorkspaceOrderView } from './schemas.ts'
import { holdsPayment } from './transitions.ts'

// Refunds. A refund is opened (a `pending` row) under the order's row lock, in the transaction
// that decides it, then asked of the provider after commit with a key derived from its id, and
// settled once (refund-settlement.ts). Lock order everywhere: checkout, then orders by id, then refunds.

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
  // A person asking for a refund changes the order (audit columns); the provider settling it later does not.
  if (createdBy !== null) await trx.updateTable('orders').set({ updatedBy: createdBy, updatedAt: now }).where('id', '=', orderId).execute()
  return id
}

/**
 * Refunds part or all of what was paid for an order (recent sign-in needed). The row lock, and
 * counting refunds still in flight, make concurrent refunds and cancels of one order add up to
 * at most what was paid.
 */
export async function refundOrder (deps: OrderDeps, principal: Principal, workspaceId: string, orderId: string, requested?: number, reason?: string, requestKey?: string): Promise<WorkspaceOrderView> {
  requireRecentAuthentication(principal, deps.clock.now())
  const refundId = await deps.db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, { id: orderId, workspaceId })
    // A retry of a request whose refund was opened (the provider was unreachable: 502, which
    // frees the Idempotency-Key) asks for that same refund again, never for a second one.
    const id = requestKey ? refundIdFor(orderId, principal.userId, requestKey) : undefined
    const earlier = id ? await trx.selectFrom('refunds').select(['id', 'amount', 'status']).where('id', '=', id).where('orderId', '=', orderId).executeTakeFirst() : undefined
    if (earlier) {
      if (requested !== undefined && requested !== earlier.amount) throw Unprocessable('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for a refund of another amount.')
      if (earlier.status === 'failed') throw Conflict('PAYMENT_PROVIDER_REJECTED', 'The payment provider refused this refund.')
      return earlier.id
    }
    if (!holdsPayment(order.paymentStatus)) {
      throw Conflict('NOT_REFUNDABLE', `There is no payment to refund (payment status: ${order.paymentStatus}).`)
    }
    const refundable = await refundableAmount(trx, order)
    const amount = requested ?? refundable
    if (amount <= 0 || amount > refundable) {
      throw Conflict('REFUND_TOO_LARGE', `At most ${refundable} can be refunded.`, { field: '/body/amount', fieldDetail: `must be at most ${Math.max(refundable, 0)}` })
    }
    return openRefund(trx, deps, orderId, amount, principal.userId, reason ?? null, id)
  })
  await executeRefund(deps, refundId)
  return getWorkspaceOrder(deps, { id: orderId })
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
    if (!refund.paymentIntentId) throw Conflict('PAYMENT_PROVIDER_REJECTED', 'the checkout has no payment intent')
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
    throw BadGateway('PAYMENT_PROVIDER_ERROR', 'The refund is recorded but the payment provider could not be reached; it is retried automatically.', { cause: err })
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
