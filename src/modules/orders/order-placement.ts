import type { Trx } from '../../platform/db.ts'
import { money } from '../../platform/money.ts'
import { outboxInsert } from '../../platform/outbox.ts'
import type { CartLine } from '../cart/public.ts'
import { orderPlacedEmail } from './emails.ts'
import { customerOrderEmail } from './notifications.ts'
import type { OrderDeps } from './order-deps.ts'
import { orderItemView } from './queries.ts'
import type { OrderView, ShippingAddress } from './schemas.ts'

// Writing a checkout: the checkout row, one order per workspace with its items (prices of that
// moment) and first history entry, and each order's "placed" email in the outbox, all in one
// statement (data-modifying CTEs; foreign keys are checked at its end). The orders are answered
// from what was written, not read back.

export interface Placement {
  checkoutId: string
  userId: string
  idempotencyKey: string
  provider: 'stripe' | 'simulator'
  currency: string
  lines: CartLine[]
  shippingAddress: ShippingAddress
  note: string | null
  customer: { email: string, name: string }
  /** Store name by workspace id. */
  storeNames: ReadonlyMap<string, string>
  now: Date
}

const byId = <T extends { id: string }>(a: T, b: T) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0

/** Writes the checkout and its orders; returns the orders as GET /orders/:id shows them, in id order. */
export async function placeOrders (trx: Trx, deps: OrderDeps, p: Placement): Promise<OrderView[]> {
  const byWorkspace = new Map<string, CartLine[]>()
  for (const line of p.lines) byWorkspace.set(line.workspaceId, [...(byWorkspace.get(line.workspaceId) ?? []), line])
  const orders = [...byWorkspace].sort(([a], [b]) => a.localeCompare(b)).map(([workspaceId, lines]) => ({
    id: deps.random.uuid(),
    workspaceId,
    totalAmount: lines.reduce((sum, l) => sum + l.lineTotal.amount, 0),
    items: lines.map((l) => ({
      id: deps.random.uuid(),
      productId: l.productId,
      variantId: l.variantId,
      title: l.title,
      size: l.size,
      sku: l.sku,
      unitAmount: l.unitPrice.amount,
      quantity: l.quantity,
      lineAmount: l.lineTotal.amount
    }))
  }))
  const history = { fromStatus: null, toStatus: 'pending' as const, actor: 'customer' as const, actorId: p.userId, reason: 'checkout', at: p.now }
  const emails = orders.map((o) => {
    const storeName = p.storeNames.get(o.workspaceId)
    if (storeName === undefined) throw new Error(`no store name for workspace ${o.workspaceId}`)
    return customerOrderEmail(deps, orderPlacedEmail, { ...o, currency: p.currency, storeName }, p.customer)
  })

  const written = await trx
    .with('c', (db) => db.insertInto('checkouts').values({
      id: p.checkoutId, userId: p.userId, idempotencyKey: p.idempotencyKey, currency: p.currency, totalAmount: orders.reduce((sum, o) => sum + o.totalAmount, 0), provider: p.provider, createdAt: p.now
    }).returning('id'))
    .with('o', (db) => db.insertInto('orders').values(orders.map((o) => ({
      id: o.id,
      checkoutId: p.checkoutId,
      workspaceId: o.workspaceId,
      userId: p.userId,
      status: 'pending',
      paymentStatus: 'unpaid',
      currency: p.currency,
      totalAmount: o.totalAmount,
      shippingAddress: JSON.stringify(p.shippingAddress),
      note: p.note,
      createdAt: p.now,
      updatedAt: p.now,
      createdBy: p.userId,
      updatedBy: p.userId
    }))).returning(['id', 'shippingAddress']))
    .with('i', (db) => db.insertInto('orderItems').values(orders.flatMap((o) => o.items.map((item) => ({ ...item, orderId: o.id })))).returning('id'))
    .with('h', (db) => db.insertInto('orderHistory').values(orders.map((o) => ({ ...history, id: deps.random.uuid(), orderId: o.id }))).returning('id'))
    .with('m', () => outboxInsert(trx, emails).returning('id'))
    // jsonb's own key order, as a read of the order shows it.
    .selectFrom('o').select('o.shippingAddress').limit(1)
    .executeTakeFirstOrThrow()

  return orders.map((o): OrderView => ({
    id: o.id,
    checkoutId: p.checkoutId,
    workspaceId: o.workspaceId,
    userId: p.userId,
    status: 'pending',
    paymentStatus: 'unpaid',
    total: money(o.totalAmount, p.currency),
    refunded: money(0, p.currency),
    items: o.items.map((i) => orderItemView(i, p.currency)).sort(byId),
    history: [{ from: null, to: 'pending', actor: 'customer', actorId: p.userId, reason: history.reason, at: p.now }],
    shippingAddress: written.shippingAddress as Record<string, unknown>,
    note: p.note,
    paidAt: null,
    createdAt: p.now,
    updatedAt: p.now,
    createdBy: p.userId,
    updatedBy: p.userId
  })).sort(byId)
}
