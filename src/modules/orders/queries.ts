import { jsonArrayFrom } from 'kysely/helpers/postgres'
import type { Deps } from '../../platform/deps.ts'
import type { Queryable } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { money } from '../../platform/money.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import type { TotalsView } from '../pricing/public.ts'
import type { Actor, OrderStatus, OrderView, PaymentStatus, WorkspaceOrderView } from './schemas.ts'

// Orders as their owners see them (SPEC 8.4): one per workspace per checkout, prices frozen on
// their items, with the history of every move.

/** Orders with their items and history, from one statement. */
function selectOrders (db: Queryable) {
  return db.selectFrom('orders')
    .selectAll('orders')
    .select((eb) => [
      jsonArrayFrom(eb.selectFrom('orderItems as i').select(['i.id', 'i.productId', 'i.variantId', 'i.title', 'i.size', 'i.sku', 'i.unitAmount', 'i.quantity', 'i.lineAmount', 'i.discountAmount', 'i.taxAmount'])
        .whereRef('i.orderId', '=', 'orders.id').orderBy('i.id')).as('items'),
      // The code as the customer entered it is kept once, on the checkout; an order shows it when it discounted that order.
      eb.selectFrom('checkouts as k').select('k.promotionCode').whereRef('k.id', '=', 'orders.checkoutId').where('orders.promotionId', 'is not', null).as('promotionCode'),
      jsonArrayFrom(eb.selectFrom('orderHistory as h').select(['h.fromStatus', 'h.toStatus', 'h.actor', 'h.actorId', 'h.reason', 'h.at'])
        .whereRef('h.orderId', '=', 'orders.id').orderBy('h.at').orderBy('h.id')).as('history')
    ])
}

/** An order item as stored (amounts in minor units), as the order's owner sees it. */
export function orderItemView (i: OrderRow['items'][number], currency: string): OrderView['items'][number] {
  return {
    id: i.id,
    productId: i.productId,
    variantId: i.variantId,
    title: i.title,
    size: i.size,
    sku: i.sku,
    unitPrice: money(i.unitAmount, currency),
    quantity: i.quantity,
    lineTotal: money(i.lineAmount, currency),
    discount: money(i.discountAmount, currency),
    tax: money(i.taxAmount, currency)
  }
}

/** Stored totals columns (an order's, a checkout's) as shown. */
export function totalsOf (row: { subtotalAmount: number, discountAmount: number, shippingAmount: number, taxAmount: number, taxInclusive: boolean, totalAmount: number }, currency: string): TotalsView {
  return {
    subtotal: money(row.subtotalAmount, currency),
    discount: money(row.discountAmount, currency),
    shipping: money(row.shippingAmount, currency),
    tax: money(row.taxAmount, currency),
    taxInclusive: row.taxInclusive,
    total: money(row.totalAmount, currency)
  }
}

type OrderRow = Awaited<ReturnType<ReturnType<typeof selectOrders>['executeTakeFirstOrThrow']>>

function orderView (row: OrderRow): OrderView {
  return {
    id: row.id,
    checkoutId: row.checkoutId,
    workspaceId: row.workspaceId,
    userId: row.userId,
    status: row.status as OrderStatus,
    paymentStatus: row.paymentStatus as PaymentStatus,
    total: money(row.totalAmount, row.currency),
    refunded: money(row.refundedAmount, row.currency),
    totals: totalsOf(row, row.currency),
    promotionCode: row.promotionCode,
    shippingMethod: row.shippingRateName,
    items: row.items.map((i) => orderItemView(i, row.currency)),
    // jsonb carries the timestamp as text.
    history: row.history.map((h) => ({ from: h.fromStatus as OrderStatus | null, to: h.toStatus as OrderStatus, actor: h.actor as Actor, actorId: h.actorId, reason: h.reason, at: new Date(h.at) })),
    shippingAddress: row.shippingAddress as Record<string, unknown>,
    note: row.note,
    paidAt: row.paidAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    createdBy: row.createdBy,
    updatedBy: row.updatedBy
  }
}

/** The order as its workspace sees it: also the commission frozen at checkout and the vendor's share. */
function workspaceOrderView (row: OrderRow): WorkspaceOrderView {
  return {
    ...orderView(row),
    commission: money(row.commissionAmount, row.currency),
    commissionBps: row.commissionBps,
    platformFundedDiscount: money(row.platformFundedDiscount, row.currency),
    net: money(row.totalAmount - row.commissionAmount + row.platformFundedDiscount, row.currency)
  }
}

async function readOrder<V> (deps: Deps, where: { id: string, userId?: string, workspaceId?: string }, view: (row: OrderRow) => V): Promise<V> {
  let q = selectOrders(deps.db).where('orders.id', '=', where.id)
  if (where.userId) q = q.where('orders.userId', '=', where.userId)
  if (where.workspaceId) q = q.where('orders.workspaceId', '=', where.workspaceId)
  const row = await q.executeTakeFirst()
  if (!row) throw NotFound('NOT_FOUND', 'order not found')
  return view(row)
}

export async function getOrder (deps: Deps, where: { id: string, userId?: string, workspaceId?: string }): Promise<OrderView> {
  return readOrder(deps, where, orderView)
}

export async function getWorkspaceOrder (deps: Deps, where: { id: string, workspaceId?: string }): Promise<WorkspaceOrderView> {
  return readOrder(deps, where, workspaceOrderView)
}

export async function listOrders (deps: Deps, where: { userId?: string, workspaceId?: string, status?: OrderStatus }, page: { limit: number, cursor?: string }): Promise<PageOf<OrderView>> {
  return readOrders(deps, where, page, orderView)
}

export async function listWorkspaceOrders (deps: Deps, where: { workspaceId: string, status?: OrderStatus }, page: { limit: number, cursor?: string }): Promise<PageOf<WorkspaceOrderView>> {
  return readOrders(deps, where, page, workspaceOrderView)
}

async function readOrders<V> (deps: Deps, where: { userId?: string, workspaceId?: string, status?: OrderStatus }, page: { limit: number, cursor?: string }, view: (row: OrderRow) => V): Promise<PageOf<V>> {
  const after = decodeCursor(page.cursor, ['uuid'])
  let q = selectOrders(deps.db)
  if (where.userId) q = q.where('orders.userId', '=', where.userId)
  if (where.workspaceId) q = q.where('orders.workspaceId', '=', where.workspaceId)
  if (where.status) q = q.where('orders.status', '=', where.status)
  if (after) q = q.where('orders.id', '<', after[0])
  const rows = await q.orderBy('orders.id', 'desc').limit(page.limit + 1).execute()
  return toPage(rows, page.limit, view, (r) => [r.id])
}

/** A checkout's orders, in id order. */
export async function ordersOfCheckout (deps: Deps, checkoutId: string): Promise<OrderView[]> {
  const rows = await selectOrders(deps.db).where('orders.checkoutId', '=', checkoutId).orderBy('orders.id').execute()
  return rows.map(orderView)
}
