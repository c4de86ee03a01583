import type { Deps } from '../../platform/deps.ts'
import type { Queryable, Trx } from '../../platform/db.ts'
import { Conflict, Forbidden, NotFound } from '../../platform/errors.ts'
import { requireRecentAuthentication, type Principal } from '../../platform/principal.ts'
import { lockVariantsOf, returnStock } from '../products/public.ts'
import { orderCancelledEmail, orderDeliveredEmail, orderShippedEmail } from './emails.ts'
import { emailAboutOrder } from './notifications.ts'
import type { OrderDeps } from './order-deps.ts'
import { syncIntentAmountQuietly } from './payment-intent.ts'
import { getOrder, getWorkspaceOrder } from './queries.ts'
import { executeRefunds, openRefund, refundableAmount } from './refunds.ts'
import type { OrderView, WorkspaceOrderView } from './schemas.ts'
import { canTransition, holdsPayment, isUnpaid, type Actor, type OrderStatus } from './transitions.ts'

// Orders move only along the transition table (transitions.ts), every move recorded in the
// order's history and told to the customer; a cancel puts the stock back and refunds what was paid.

export async function recordHistory (trx: Queryable, deps: Deps, orderId: string, from: OrderStatus | null, to: OrderStatus, actor: Actor, actorId: string | null, reason: string | null): Promise<void> {
  await trx.insertInto('orderHistory').values({ id: deps.random.uuid(), orderId, fromStatus: from, toStatus: to, actor, actorId, reason, at: deps.clock.now() }).execute()
}

const illegal = (from: string, to: string) => Conflict('ILLEGAL_TRANSITION', `An order cannot go from ${from} to ${to}.`)

export interface LockedOrder { id: string, status: string, paymentStatus: string, totalAmount: number, paidAmount: number, refundedAmount: number, workspaceId: string, checkoutId: string }

/** Locks an order row for a change; the lock orders concurrent changes of one order. */
export async function lockOrder (trx: Trx, where: { id: string, userId?: string, workspaceId?: string }): Promise<LockedOrder> {
  let q = trx.selectFrom('orders').select(['id', 'status', 'paymentStatus', 'totalAmount', 'paidAmount', 'refundedAmount', 'workspaceId', 'checkoutId']).where('id', '=', where.id)
  if (where.userId) q = q.where('userId', '=', where.userId)
  if (where.workspaceId) q = q.where('workspaceId', '=', where.workspaceId)
  const order = await q.forNoKeyUpdate().executeTakeFirst()
  if (!order) throw NotFound('NOT_FOUND', 'order not found')
  return order
}

/**
 * Locks the variant rows of orders' items in variant-id order, the lock order of checkout, so
 * a cancel (or the expiry job cancelling several orders) and a checkout sharing variants queue
 * up instead of deadlocking.
 */
export async function lockStockOf (trx: Trx, orderIds: string[]): Promise<void> {
  if (orderIds.length === 0) return
  await lockVariantsOf(trx, trx.selectFrom('orderItems').select(['variantId', 'quantity']).where('orderId', 'in', orderIds))
}

/** Puts an order's items back on the shelf. */
async function returnOrderStock (trx: Trx, orderId: string): Promise<void> {
  await returnStock(trx, trx.selectFrom('orderItems').select(['variantId', 'quantity']).where('orderId', '=', orderId))
}

/**
 * Moves a locked order to `to` if the table allows it for `actor`, records the history and its
 * consequences: cancelling returns the stock and, for a paid order, opens a refund for what was
 * paid. Returns that refund's id, which the caller executes after commit.
 */
export async function transitionOrder (trx: Trx, deps: Deps, order: LockedOrder, to: OrderStatus, actor: Actor, actorId: string | null, reason: string | null): Promise<{ refundId: string | null }> {
  const from = order.status as OrderStatus
  if (!canTransition(from, to, actor)) throw illegal(from, to)
  const now = deps.clock.now()
  // updatedBy names the last person who changed the order; the payment and the system leave it.
  await trx.updateTable('orders').set({ status: to, updatedAt: now, ...(actorId !== null ? { updatedBy: actorId } : {}) }).where('id', '=', order.id).where('status', '=', from).execute()
  await recordHistory(trx, deps, order.id, from, to, actor, actorId, reason)
  let refundId: string | null = null
  if (to === 'cancelled') {
    await returnOrderStock(trx, order.id)
    if (holdsPayment(order.paymentStatus)) {
      // Refunds already in flight count: a refund racing this cancel never adds up to more than was paid.
      const refundable = await refundableAmount(trx, order)
      if (refundable > 0) refundId = await openRefund(trx, deps, order.id, refundable, actorId, 'order cancelled')
    }
    await emailAboutOrder(trx, deps, order.id, orderCancelledEmail)
  } else if (to === 'shipped') {
    await emailAboutOrder(trx, deps, order.id, orderShippedEmail)
  } else if (to === 'delivered') {
    await emailAboutOrder(trx, deps, order.id, orderDeliveredEmail)
  }
  return { refundId }
}

/**
 * After a cancel commits: a refund it opened is asked of the provider; an unpaid order's share
 * comes off the checkout's payment intent. A provider failure here does not undo the cancel
 * (the refund stays pending for the retry job; a payment still arriving is refunded in part).
 */
async function afterCancel (deps: OrderDeps, order: { checkoutId: string, paymentStatus: string }, to: OrderStatus, refundId: string | null): Promise<void> {
  if (refundId) await executeRefunds(deps, [refundId])
  else if (to === 'cancelled' && isUnpaid(order.paymentStatus)) await syncIntentAmountQuietly(deps, order.checkoutId)
}

/** The customer cancels their own order (pending or confirmed); a paid order is refunded to them. */
export async function cancelOwnOrder (deps: OrderDeps, principal: Principal, orderId: string, reason?: string): Promise<OrderView> {
  const { order, refundId } = await deps.db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, { id: orderId, userId: principal.userId })
    return { order, ...(await transitionOrder(trx, deps, order, 'cancelled', 'customer', principal.userId, reason ?? null)) }
  })
  await afterCancel(deps, order, 'cancelled', refundId)
  return getOrder(deps, { id: orderId })
}

/**
 * A workspace moves its order along: shipped, delivered, or cancelled. Cancelling an order that
 * was paid refunds it, so it needs what a refund needs (`orders:refund` and a recent sign-in);
 * `orders:manage` alone cancels unpaid orders only. Decided on the locked row, so a payment
 * landing meanwhile is seen.
 */
export async function setOrderStatus (deps: OrderDeps, principal: Principal, access: { workspaceId: string, canRefund: boolean }, orderId: string, to: OrderStatus, reason?: string): Promise<WorkspaceOrderView> {
  const { order, refundId } = await deps.db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, { id: orderId, workspaceId: access.workspaceId })
    if (to === 'cancelled' && !isUnpaid(order.paymentStatus) && canTransition(order.status as OrderStatus, to, 'workspace')) {
      if (!access.canRefund) throw Forbidden('FORBIDDEN', 'This order was paid: cancelling it refunds the payment, which needs the orders:refund permission.')
      requireRecentAuthentication(principal, deps.clock.now())
    }
    return { order, ...(await transitionOrder(trx, deps, order, to, 'workspace', principal.userId, reason ?? null)) }
  })
  await afterCancel(deps, order, to, refundId)
  return getWorkspaceOrder(deps, { id: orderId })
}
