import { jsonArrayFrom } from 'kysely/helpers/postgres'
import type { Deps } from '../../platform/deps.ts'
import type { Queryable } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { money } from '../../platform/money.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import type { Actor, OrderStatus, OrderView, PaymentStatus } from './schemas.ts'

// Orders as their owners see them (SPEC 8.4): one per workspace per checkout, prices frozen on
// their items, with the history of every move.

/** Orders with their items and history, from one statement. */
function selectOrders (db: Queryable) {
  return db.selectFrom('orders')
    .selectAll('orders')
    .select((eb) => [
      jsonArrayFrom(eb.selectFrom('orderItems as i').select(['i.id', 'i.productId', 'i.variantId', 'i.title', 'i.size', 'i.sku', 'i.unitAmount', 'i.quantity', 'i.lineAmount'])
        .whereRef('i.orderId', '=', 'orders.id').orderBy('i.id')).as('items'),
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
    lineTotal: money(i.lineAmount, currency)
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

export async function getOrder (deps: Deps, where: { id: string, userId?: string, workspaceId?: string }): Promise<OrderView> {
  let q = selectOrders(deps.db).where('orders.id', '=', where.id)
  if (where.userId) q = q.where('orders.userId', '=', where.userId)
  if (where.workspaceId) q = q.where('orders.workspaceId', '=', where.workspaceId)
  const row = await q.executeTakeFirst()
  if (!row) throw NotFound('NOT_FOUND', 'order not found')
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

/** A checkout's orders, in id order. */
export async function ordersOfCheckout (deps: Deps, checkoutId: string): Promise<OrderView[]> {
  const rows = await selectOrders(deps.db).where('orders.checkoutId', '=', checkoutId).orderBy('orders.id').execute()
  return rows.map(orderView)
}
