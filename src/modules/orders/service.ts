import { sql } from 'kysely'
import { jsonArrayFrom } from 'kysely/helpers/postgres'
import type { Deps } from '../../platform/deps.ts'
import type { Queryable, Trx } from '../../platform/db.ts'
import { AppError, Conflict, NotFound } from '../../platform/errors.ts'
import { formatMoney, money, type Money } from '../../platform/money.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import { requireRecentAuthentication, type Principal } from '../../platform/principal.ts'
import { emailInTransaction } from '../../emails.ts'
import type { PaymentGateway } from '../payments/gateway.ts'
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

interface LockedOrder { id: string, status: string, paymentStatus: string, totalAmount: number, refundedAmount: number, workspaceId: string, checkoutId: string }

/** Locks an order row for a change; the lock orders concurrent changes of one order. */
async function lockOrder (trx: Trx, where: { id: string, userId?: string, workspaceId?: string }): Promise<LockedOrder> {
  let q = trx.selectFrom('orders').select(['id', 'status', 'paymentStatus', 'totalAmount', 'refundedAmount', 'workspaceId', 'checkoutId']).where('id', '=', where.id)
  if (where.userId) q = q.where('userId', '=', where.userId)
  if (where.workspaceId) q = q.where('workspaceId', '=', where.workspaceId)
  const order = await q.forUpdate().executeTakeFirst()
  if (!order) throw NotFound('order')
  return order
}

/** Puts an order's items back on the shelf, in variant-id order (the lock order of checkout). */
async function returnStock (trx: Trx, orderId: string): Promise<void> {
  await sql`
    update product_variants v set stock = v.stock + x.quantity, updated_at = now()
    from (select variant_id, sum(quantity)::int as quantity from order_items where order_id = ${orderId} group by variant_id order by variant_id) as x
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
    const refundable = order.totalAmount - order.refundedAmount
    if ((order.paymentStatus === 'paid' || order.paymentStatus === 'partially_refunded') && refundable > 0) {
      refundId = await openRefund(trx, deps, order.id, refundable, actorId, 'order cancelled')
    }
    await emailAboutOrder(trx, deps, order.id, 'order-cancelled')
  } else if (to === 'shipped') {
    await emailAboutOrder(trx, deps, order.id, 'order-shipped')
  } else if (to === 'delivered') {
    await emailAboutOrder(trx, deps, order.id, 'order-delivered')
  }
  return { refundId }
}

async function openRefund (trx: Trx, deps: Deps, orderId: string, amount: number, createdBy: string | null, reason: string | null): Promise<string> {
  const id = deps.random.uuid()
  const now = deps.clock.now()
  await trx.insertInto('refunds').values({ id, orderId, amount, status: 'pending', reason, createdBy, createdAt: now, updatedAt: now }).execute()
  return id
}

/**
 * Asks the provider for a refund (idempotency key derived from our refund id: a retry never
 * refunds twice) and records the result on the order.
 */
export async function executeRefund (deps: OrderDeps, refundId: string): Promise<void> {
  const refund = await deps.db.selectFrom('refunds as r').innerJoin('orders as o', 'o.id', 'r.orderId').innerJoin('checkouts as c', 'c.id', 'o.checkoutId')
    .select(['r.id', 'r.amount', 'r.status', 'r.orderId', 'c.paymentIntentId']).where('r.id', '=', refundId).executeTakeFirstOrThrow()
  if (refund.status !== 'pending') return
  let providerRefund
  try {
    if (!refund.paymentIntentId) throw new Error('the checkout has no payment intent')
    providerRefund = await deps.gateway.refund({ paymentIntentId: refund.paymentIntentId, amount: refund.amount, idempotencyKey: `refund-${refund.id}` })
  } catch (err) {
    await deps.db.updateTable('refunds').set({ status: 'failed', updatedAt: deps.clock.now() }).where('id', '=', refund.id).execute()
    throw err instanceof AppError ? err : new AppError(502, 'PAYMENT_PROVIDER_ERROR', 'The refund could not be made; retry shortly.', { cause: err })
  }
  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable('refunds').set({ status: 'succeeded', providerRefundId: providerRefund.id, updatedAt: deps.clock.now() }).where('id', '=', refund.id).execute()
    const order = await trx.updateTable('orders').set((eb) => ({
      refundedAmount: eb('refundedAmount', '+', refund.amount),
      paymentStatus: sql`case when refunded_amount + ${refund.amount} >= total_amount then 'refunded' else 'partially_refunded' end`,
      updatedAt: deps.clock.now()
    })).where('id', '=', refund.orderId).returning(['id', 'userId', 'workspaceId', 'totalAmount', 'refundedAmount', 'currency']).executeTakeFirstOrThrow()
    const who = await trx.selectFrom('users').select(['email', 'name']).where('id', '=', order.userId).executeTakeFirstOrThrow()
    const store = await trx.selectFrom('workspaces').select('name').where('id', '=', order.workspaceId).executeTakeFirstOrThrow()
    await emailInTransaction(trx, deps.sealer, 'order-refunded', who.email, {
      name: who.name,
      orderId: order.id,
      storeName: store.name,
      total: formatMoney(money(order.totalAmount, order.currency)),
      refunded: formatMoney(money(refund.amount, order.currency)),
      link: `${deps.config.publicUrl}/orders/${order.id}`
    })
  })
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

/** The customer cancels their own order (pending or confirmed); a paid order is refunded. */
export async function cancelOwnOrder (deps: OrderDeps, principal: Principal, orderId: string, reason?: string): Promise<OrderView> {
  const { refundId } = await deps.db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, { id: orderId, userId: principal.userId })
    return transitionOrder(trx, deps, order, 'cancelled', 'customer', principal.userId, reason ?? null)
  })
  if (refundId) await executeRefund(deps, refundId)
  return getOrder(deps, { id: orderId })
}

/** A workspace moves its order along: shipped, delivered, or cancelled (refunding a paid one). */
export async function setOrderStatus (deps: OrderDeps, principal: Principal, workspaceId: string, orderId: string, to: OrderStatus, reason?: string): Promise<OrderView> {
  const { refundId } = await deps.db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, { id: orderId, workspaceId })
    return transitionOrder(trx, deps, order, to, 'workspace', principal.userId, reason ?? null)
  })
  if (refundId) await executeRefund(deps, refundId)
  return getOrder(deps, { id: orderId })
}

/**
 * Refunds part or all of what was paid for an order (recent sign-in needed). The row lock makes
 * concurrent refunds of one order add up to at most what was paid.
 */
export async function refundOrder (deps: OrderDeps, principal: Principal, workspaceId: string, orderId: string, requested?: number, reason?: string): Promise<OrderView> {
  requireRecentAuthentication(principal, deps.clock.now())
  const refundId = await deps.db.transaction().execute(async (trx) => {
    const order = await lockOrder(trx, { id: orderId, workspaceId })
    if (order.paymentStatus !== 'paid' && order.paymentStatus !== 'partially_refunded') {
      throw Conflict('NOT_REFUNDABLE', `There is no payment to refund (payment status: ${order.paymentStatus}).`)
    }
    const pending = await trx.selectFrom('refunds').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount'), sql<number>`0`).as('amount'))
      .where('orderId', '=', orderId).where('status', '=', 'pending').executeTakeFirstOrThrow()
    const refundable = order.totalAmount - order.refundedAmount - Number(pending.amount)
    const amount = requested ?? refundable
    if (amount <= 0 || amount > refundable) {
      throw new AppError(409, 'REFUND_TOO_LARGE', `At most ${refundable} can be refunded.`, { errors: [{ pointer: '/body/amount', detail: `must be at most ${refundable}` }] })
    }
    return openRefund(trx, deps, orderId, amount, principal.userId, reason ?? null)
  })
  await executeRefund(deps, refundId)
  return getOrder(deps, { id: orderId })
}

// ---- Payment outcomes (webhook, simulator, reconciliation) ----

/** A checkout's payment succeeded: its pending orders are confirmed and paid, once. */
export async function applyPaymentSucceeded (trx: Trx, deps: Deps, checkoutId: string, source: string): Promise<number> {
  const orders = await trx.selectFrom('orders').select(['id', 'status', 'paymentStatus', 'totalAmount', 'refundedAmount', 'workspaceId', 'checkoutId'])
    .where('checkoutId', '=', checkoutId).orderBy('id').forUpdate().execute()
  let confirmed = 0
  for (const order of orders) {
    if (order.paymentStatus === 'paid' || order.paymentStatus === 'refunded' || order.paymentStatus === 'partially_refunded') continue
    await trx.updateTable('orders').set({ paymentStatus: 'paid', paidAt: deps.clock.now(), updatedAt: deps.clock.now() }).where('id', '=', order.id).execute()
    if (order.status === 'pending') {
      await transitionOrder(trx, deps, order, 'confirmed', 'payment', null, source)
      await emailAboutOrder(trx, deps, order.id, 'payment-confirmed', true)
      confirmed++
    } else {
      // Paid after it was cancelled (a payment that raced the expiry): recorded for the team.
      await recordHistory(trx, deps, order.id, order.status as OrderStatus, order.status as OrderStatus, 'payment', null, `payment received after ${order.status}; refund it`)
      deps.log.warn({ orderId: order.id }, 'payment succeeded for an order that is no longer pending')
    }
  }
  return confirmed
}

/** A failed payment marks unpaid orders failed; it never overwrites a payment that succeeded. */
export async function applyPaymentFailed (trx: Trx, deps: Deps, checkoutId: string): Promise<number> {
  const result = await trx.updateTable('orders').set({ paymentStatus: 'failed', updatedAt: deps.clock.now() })
    .where('checkoutId', '=', checkoutId).where('paymentStatus', '=', 'unpaid').executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** A refund made at the provider (e.g. its dashboard) for the whole charge refunds every order. */
export async function applyChargeRefunded (trx: Trx, deps: Deps, checkoutId: string, amountRefunded: number): Promise<void> {
  const checkout = await trx.selectFrom('checkouts').select('totalAmount').where('id', '=', checkoutId).executeTakeFirstOrThrow()
  if (amountRefunded < checkout.totalAmount) return
  await trx.updateTable('orders').set({ paymentStatus: 'refunded', refundedAmount: sql`total_amount`, updatedAt: deps.clock.now() })
    .where('checkoutId', '=', checkoutId).where('paymentStatus', 'in', ['paid', 'partially_refunded']).execute()
}

// ---- Expiry and reconciliation (the order-expiry job) ----

export const PAYMENT_WINDOW_MS = 30 * 60_000

/**
 * Orders unpaid 30 minutes after checkout are cancelled and their stock returned; but first the
 * provider is asked for the payment's real state, so a payment whose webhook was lost still
 * confirms its orders.
 */
export async function expireUnpaidOrders (deps: OrderDeps, batch = 100): Promise<{ confirmed: number, cancelled: number }> {
  const cutoff = new Date(deps.clock.now().getTime() - PAYMENT_WINDOW_MS)
  const checkouts = await deps.db.selectFrom('orders as o').innerJoin('checkouts as c', 'c.id', 'o.checkoutId')
    .select(['c.id', 'c.paymentIntentId']).distinct()
    .where('o.status', '=', 'pending').where('o.paymentStatus', 'in', ['unpaid', 'failed']).where('c.createdAt', '<', cutoff)
    .limit(batch).execute()
  let confirmed = 0
  let cancelled = 0
  for (const checkout of checkouts) {
    const intent = checkout.paymentIntentId ? await deps.gateway.retrieveIntent(checkout.paymentIntentId).catch(() => null) : null
    if (intent === null && checkout.paymentIntentId) continue // provider unreachable: ask again next run
    if (intent?.status === 'succeeded') {
      confirmed += await deps.db.transaction().execute((trx) => applyPaymentSucceeded(trx, deps, checkout.id, 'reconciliation'))
      continue
    }
    if (intent?.status === 'processing') continue
    if (intent && intent.status !== 'canceled') await deps.gateway.cancelIntent(intent.id).catch(() => {})
    cancelled += await deps.db.transaction().execute(async (trx) => {
      const orders = await trx.selectFrom('orders').select(['id', 'status', 'paymentStatus', 'totalAmount', 'refundedAmount', 'workspaceId', 'checkoutId'])
        .where('checkoutId', '=', checkout.id).where('status', '=', 'pending').orderBy('id').forUpdate().execute()
      for (const order of orders) await transitionOrder(trx, deps, order, 'cancelled', 'system', null, 'payment not received within 30 minutes')
      return orders.length
    })
  }
  return { confirmed, cancelled }
}
