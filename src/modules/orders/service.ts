import { sql } from 'kysely'
import { jsonArrayFrom } from 'kysely/helpers/postgres'
import type { Deps } from '../../platform/deps.ts'
import type { Queryable, Trx } from '../../platform/db.ts'
import { AppError, Conflict, Forbidden, NotFound, Unprocessable } from '../../platform/errors.ts'
import { formatMoney, money, type Money } from '../../platform/money.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import { requireRecentAuthentication, type Principal } from '../../platform/principal.ts'
import { emailInTransaction } from '../../emails.ts'
import type { PaymentGateway } from '../payments/gateway.ts'
import { executeRefund, executeRefunds, openRefund, refundableAmount, refundIdFor } from './refunds.ts'
import { syncIntentAmountQuietly } from './settlement.ts'
import { canTransition, type Actor, type OrderStatus, type PaymentStatus } from './transitions.ts'

// Orders (SPEC 8.4): one per workspace per checkout, prices frozen on their items, moved only
// along the transition table, every move recorded in the order's history.

export interface OrderDeps extends Deps { gateway: PaymentGateway }

export interface ShippingAddress { name?: string, street: string, city: string, state?: string | null, zipCode: string, country: string, phone?: string | null }

export interface OrderItemView { id: string, productId: string, variantId: string, title: string, size: string | null, sku: string, unitPrice: Money, quantity: number, lineTotal: Money }
export interface HistoryView { from: OrderStatus | null, to: OrderStatus, actor: Actor, actorId: string | null, reason: string | null, at: Date }
export interface OrderView {
  id: string
  checkoutId: string
  workspaceId: string
  userId: string
  status: OrderStatus
  paymentStatus: PaymentStatus
  total: Money
  refunded: Money
  items: OrderItemView[]
  history: HistoryView[]
  shippingAddress: ShippingAddress
  note: string | null
  paidAt: Date | null
  createdAt: Date
  updatedAt: Date
}

/** Orders with their items and history, from one statement. */
export function selectOrders (db: Queryable) {
  return db.selectFrom('orders')
    .selectAll('orders')
    .select((eb) => [
      jsonArrayFrom(eb.selectFrom('orderItems as i').select(['i.id', 'i.productId', 'i.variantId', 'i.title', 'i.size', 'i.sku', 'i.unitAmount', 'i.quantity', 'i.lineAmount'])
        .whereRef('i.orderId', '=', 'orders.id').orderBy('i.id')).as('items'),
      jsonArrayFrom(eb.selectFrom('orderHistory as h').select(['h.fromStatus', 'h.toStatus', 'h.actor', 'h.actorId', 'h.reason', 'h.at'])
        .whereRef('h.orderId', '=', 'orders.id').orderBy('h.at').orderBy('h.id')).as('history')
    ])
}

type OrderRow = Awaited<ReturnType<ReturnType<typeof selectOrders>['executeTakeFirstOrThrow']>>

export function orderView (row: OrderRow): OrderView {
  return {
    id: row.id,
    checkoutId: row.checkoutId,
    workspaceId: row.workspaceId,
    userId: row.userId,
    status: row.status as OrderStatus,
    paymentStatus: row.paymentStatus as PaymentStatus,
    total: money(row.totalAmount, row.currency),
    refunded: money(row.refundedAmount, row.currency),
    items: row.items.map((i) => ({
      id: i.id,
      productId: i.productId,
      variantId: i.variantId,
      title: i.title,
      size: i.size,
      sku: i.sku,
      unitPrice: money(i.unitAmount, row.currency),
      quantity: i.quantity,
      lineTotal: money(i.lineAmount, row.currency)
    })),
    history: row.history.map((h) => ({ from: h.fromStatus as OrderStatus | null, to: h.toStatus as OrderStatus, actor: h.actor as Actor, actorId: h.actorId, reason: h.reason, at: new Date(h.at) })),
    shippingAddress: row.shippingAddress as unknown as ShippingAddress,
    note: row.note,
    paidAt: row.paidAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt
  }
}

export async function recordHistory (trx: Queryable, deps: Deps, orderId: string, from: OrderStatus | null, to: OrderStatus, actor: Actor, actorId: string | null, reason: string | null): Promise<void> {
  await trx.insertInto('orderHistory').values({ id: deps.random.uuid(), orderId, fromStatus: from, toStatus: to, actor, actorId, reason, at: deps.clock.now() }).execute()
}

type EmailName = 'order-placed' | 'payment-confirmed' | 'order-shipped' | 'order-delivered' | 'order-cancelled'

/** An order email to the customer (and, for a new paid order, to the owner), via the outbox. */
export async function emailAboutOrder (trx: Trx, deps: Deps, orderId: string, template: EmailName, alsoOwner = false): Promise<void> {
  const row = await trx.selectFrom('orders as o')
    .innerJoin('users as c', 'c.id', 'o.userId')
    .innerJoin('workspaces as w', 'w.id', 'o.workspaceId')
    .innerJoin('users as owner', 'owner.id', 'w.ownerId')
    .select(['o.id', 'o.workspaceId', 'o.totalAmount', 'o.currency', 'c.email', 'c.name', 'w.name as storeName', 'owner.email as ownerEmail', 'owner.name as ownerName'])
    .where('o.id', '=', orderId).executeTakeFirstOrThrow()
  const common = { orderId: row.id, storeName: row.storeName, total: formatMoney(money(row.totalAmount, row.currency)) }
  await emailInTransaction(trx, deps.sealer, template, row.email, { ...common, name: row.name, link: `${deps.config.publicUrl}/orders/${row.id}` })
  if (alsoOwner) await emailInTransaction(trx, deps.sealer, 'new-paid-order', row.ownerEmail, { ...common, name: row.ownerName, link: `${deps.config.publicUrl}/workspaces/${row.workspaceId}/orders/${row.id}` })
}

const illegal = (from: string, to: string) => Conflict('ILLEGAL_TRANSITION', `An order cannot go from ${from} to ${to}.`)

interface LockedOrder { id: string, status: string, paymentStatus: string, totalAmount: number, paidAmount: number, refundedAmount: number, workspaceId: string, checkoutId: string }

/** Locks an order row for a change; the lock orders concurrent changes of one order. */
async function lockOrder (trx: Trx, where: { id: string, userId?: string, workspaceId?: string }): Promise<LockedOrder> {
  let q = trx.selectFrom('orders').select(['id', 'status', 'paymentStatus', 'totalAmount', 'paidAmount', 'refundedAmount', 'workspaceId', 'checkoutId']).where('id', '=', where.id)
  if (where.userId) q = q.where('userId', '=', where.userId)
  if (where.workspaceId) q = q.where('workspaceId', '=', where.workspaceId)
  const order = await q.forUpdate().executeTakeFirst()
  if (!order) throw NotFound('order')
  return order
}

/**
 * Locks the variant rows of orders' items in variant-id order, the lock order of checkout, so
 * a cancel (or the expiry job cancelling several orders) and a checkout sharing variants queue
 * up instead of deadlocking.
 */
export async function lockStockOf (trx: Trx, orderIds: string[]): Promise<void> {
  if (orderIds.length === 0) return
  await trx.selectFrom('productVariants').select('id')
    .where('id', 'in', (eb) => eb.selectFrom('orderItems').select('variantId').where('orderId', 'in', orderIds))
    .orderBy('id').forUpdate().execute()
}

/** Puts an order's items back on the shelf. */
async function returnStock (trx: Trx, orderId: string): Promise<void> {
  await lockStockOf(trx, [orderId])
  await sql`
    update product_variants v set stock = v.stock + x.quantity, updated_at = now()
    from (select variant_id, sum(quantity)::int as quantity from order_items where order_id = ${orderId} group by variant_id) as x
    where v.id = x.variant_id`.execute(trx)
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
  await trx.updateTable('orders').set({ status: to, updatedAt: now }).where('id', '=', order.id).where('status', '=', from).execute()
  await recordHistory(trx, deps, order.id, from, to, actor, actorId, reason)
  let refundId: string | null = null
  if (to === 'cancelled') {
    await returnStock(trx, order.id)
    if (order.paymentStatus === 'paid' || order.paymentStatus === 'partially_refunded') {
      // Refunds already in flight count: a refund racing this cancel never adds up to more than was paid.
      const refundable = await refundableAmount(trx, order)
      if (refundable > 0) refundId = await openRefund(trx, deps, order.id, refundable, actorId, 'order cancelled')
    }
    await emailAboutOrder(trx, deps, order.id, 'order-cancelled')
  } else if (to === 'shipped') {
    await emailAboutOrder(trx, deps, order.id, 'order-shipped')
  } else if (to === 'delivered') {
    await emailAboutOrder(trx, deps, order.id, 'order-delivered')
  }
  return { refundId }
}

// ---- Reading ----

export async function getOrder (deps: Deps, where: { id: string, userId?: string, workspaceId?: string }): Promise<OrderView> {
  let q = selectOrders(deps.db).where('orders.id', '=', where.id)
  if (where.userId) q = q.where('orders.userId', '=', where.userId)
  if (where.workspaceId) q = q.where('orders.workspaceId', '=', where.workspaceId)
  const row = await q.executeTakeFirst()
  if (!row) throw NotFound('order')
  return orderView(row)
}

export async function listOrders (deps: Deps, where: { userId?: string, workspaceId?: string, status?: OrderStatus }, page: { limit: number, cursor?: string }): Promise<PageOf<OrderView>> {
  const after = decodeCursor(page.cursor, ['uuid'])
  let q = selectOrders(deps.db)
  if (where.userId) q = q.where('orders.userId', '=', where.userId)
  if (where.workspaceId) q = q.where('orders.workspaceId', '=', where.workspaceId)
  if (where.status) q = q.where('orders.status', '=', where.status)
  if (after) q = q.where('orders.id', '<', after[0])
  const rows = await q.orderBy('orders.id', 'desc').limit(page.limit + 1).execute()
  return toPage(rows, page.limit, orderView, (r) => [r.id])
}

// ---- Changing ----

/**
 * After a cancel commits: a refund it opened is asked of the provider; an unpaid order's share
 * comes off the checkout's payment intent. A provider failure here does not undo the cancel
 * (the refund stays pending for the retry job; a payment still arriving is refunded in part).
 */
async function afterCancel (deps: OrderDeps, order: { checkoutId: string, paymentStatus: string }, to: OrderStatus, refundId: string | null): Promise<void> {
  if (refundId) await executeRefunds(deps, [refundId])
  else if (to === 'cancelled' && (order.paymentStatus === 'unpaid' || order.paymentStatus === 'failed')) await syncIntentAmountQuietly(deps, order.checkoutId)
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
export async function setOrderStatus (deps: OrderDeps, principal: Principal, access: { workspaceId: string, canRefund: boolean }, orderId: string, to: OrderStatus, reason?: string): Promise<OrderView> {
  const { order, refundId } = await deps.db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, { id: orderId, workspaceId: access.workspaceId })
    if (to === 'cancelled' && order.paymentStatus !== 'unpaid' && order.paymentStatus !== 'failed' && canTransition(order.status as OrderStatus, to, 'workspace')) {
      if (!access.canRefund) throw Forbidden('This order was paid: cancelling it refunds the payment, which needs the orders:refund permission.')
      requireRecentAuthentication(principal, deps.clock.now())
    }
    return { order, ...(await transitionOrder(trx, deps, order, to, 'workspace', principal.userId, reason ?? null)) }
  })
  await afterCancel(deps, order, to, refundId)
  return getOrder(deps, { id: orderId })
}

/**
 * Refunds part or all of what was paid for an order (recent sign-in needed). The row lock, and
 * counting refunds still in flight, make concurrent refunds and cancels of one order add up to
 * at most what was paid.
 */
export async function refundOrder (deps: OrderDeps, principal: Principal, workspaceId: string, orderId: string, requested?: number, reason?: string, requestKey?: string): Promise<OrderView> {
  requireRecentAuthentication(principal, deps.clock.now())
  const refundId = await deps.db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, { id: orderId, workspaceId })
    // A retry of a request whose refund was opened (the provider was unreachable: 502, which
    // frees the Idempotency-Key) asks for that same refund again, never for a second one.
    const id = requestKey ? refundIdFor(orderId, principal.userId, requestKey) : undefined
    const earlier = id ? await trx.selectFrom('refunds').select(['id', 'amount', 'status']).where('id', '=', id).where('orderId', '=', orderId).executeTakeFirst() : undefined
    if (earlier) {
      if (requested !== undefined && requested !== earlier.amount) throw Unprocessable('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for a refund of another amount.')
      if (earlier.status === 'failed') throw new AppError(409, 'PAYMENT_PROVIDER_REJECTED', 'The payment provider refused this refund.')
      return earlier.id
    }
    if (order.paymentStatus !== 'paid' && order.paymentStatus !== 'partially_refunded') {
      throw Conflict('NOT_REFUNDABLE', `There is no payment to refund (payment status: ${order.paymentStatus}).`)
    }
    const refundable = await refundableAmount(trx, order)
    const amount = requested ?? refundable
    if (amount <= 0 || amount > refundable) {
      throw new AppError(409, 'REFUND_TOO_LARGE', `At most ${refundable} can be refunded.`, { errors: [{ pointer: '/body/amount', detail: `must be at most ${Math.max(refundable, 0)}` }] })
    }
    return openRefund(trx, deps, orderId, amount, principal.userId, reason ?? null, id)
  })
  await executeRefund(deps, refundId)
  return getOrder(deps, { id: orderId })
}
