import type { Trx } from '../../platform/db.ts'
import { money } from '../../platform/money.ts'
import { outboxInsert } from '../../platform/outbox.ts'
import type { CartLine } from '../cart/public.ts'
import type { PricedCheckout } from '../pricing/public.ts'
import { orderPlacedEmail } from './emails.ts'
import { customerOrderEmail } from './notifications.ts'
import type { OrderDeps } from './order-deps.ts'
import { orderItemView, totalsOf } from './queries.ts'
import type { OrderView, ShippingAddress } from './schemas.ts'

// Writing a checkout: the checkout row, one order per workspace with its items (prices of that
// moment) and its totals as pricing computed them (frozen: a later rate or commission change
// alters no placed order), and first history entry, and each order's "placed" email in the outbox, all in one
// statement (data-modifying CTEs; foreign keys are checked at its end). The orders are answered
// from what was written, not read back.

export interface Placement {
  checkoutId: string
  userId: string
  idempotencyKey: string
  provider: 'stripe' | 'simulator'
  currency: string
  lines: CartLine[]
  /** The lines priced: one order each, in workspace-id order. */
  priced: PricedCheckout
  shippingAddress: ShippingAddress
  note: string | null
  customer: { email: string, name: string }
  /** Store name by workspace id. */
  storeNames: ReadonlyMap<string, string>
  now: Date
}

/** An order's totals columns: what the customer pays and why, and the platform's commission of that moment. */
function frozenTotals (o: PricedCheckout['orders'][number], checkout: PricedCheckout) {
  return {
    subtotalAmount: o.subtotal,
    discountAmount: o.discount,
    platformFundedDiscount: o.platformFundedDiscount,
    shippingAmount: o.shipping,
    shippingRateId: o.shippingRate?.id ?? null,
    shippingRateName: o.shippingRate?.name ?? null,
    taxAmount: o.tax,
    taxInclusive: o.taxInclusive,
    taxRateBps: checkout.taxRate?.rateBps ?? null,
    commissionBps: o.commissionBps,
    commissionAmount: o.commission,
    // Only the orders the code discounted carry it (a workspace's code covers its own orders).
    promotionId: o.discount > 0 ? checkout.promotion?.id ?? null : null
  }
}

const byId = <T extends { id: string }>(a: T, b: T) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0

/** Writes the checkout and its orders; returns the orders as GET /orders/:id shows them, in id order. */
export async function placeOrders (trx: Trx, deps: OrderDeps, p: Placement): Promise<OrderView[]> {
  const cartLines = new Map(p.lines.map((l) => [l.id, l]))
  const orders = p.priced.orders.map((priced) => ({
    id: deps.random.uuid(),
    workspaceId: priced.workspaceId,
    totalAmount: priced.total,
    priced,
    columns: frozenTotals(priced, p.priced),
    items: priced.lines.map((pl) => ({ line: cartLines.get(pl.lineId)!, pl })).map(({ line: l, pl }) => ({
      id: deps.random.uuid(),
      productId: l.productId,
      variantId: l.variantId,
      title: l.title,
      size: l.size,
      sku: l.sku,
      unitAmount: l.unitPrice.amount,
      quantity: l.quantity,
      lineAmount: l.lineTotal.amount,
      discountAmount: pl.discount,
      taxAmount: pl.tax
    }))
  }))
  const history = { fromStatus: null, toStatus: 'pending' as const, actor: 'customer' as const, actorId: p.userId, reason: 'checkout', at: p.now }
  const emails = orders.map((o) => {
    const storeName = p.storeNames.get(o.workspaceId)
    if (storeName === undefined) throw new Error(`no store name for workspace ${o.workspaceId}`)
    return customerOrderEmail(deps, orderPlacedEmail, { id: o.id, totalAmount: o.totalAmount, currency: p.currency, storeName }, p.customer)
  })

  const written = await trx
    .with('c', (db) => db.insertInto('checkouts').values({
      id: p.checkoutId,
      userId: p.userId,
      idempotencyKey: p.idempotencyKey,
      currency: p.currency,
      subtotalAmount: p.priced.subtotal,
      discountAmount: p.priced.discount,
      shippingAmount: p.priced.shipping,
      taxAmount: p.priced.tax,
      taxInclusive: p.priced.taxInclusive,
      totalAmount: p.priced.total,
      promotionCode: p.priced.promotion?.code ?? null,
      provider: p.provider,
      createdAt: p.now
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
      ...o.columns,
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
    totals: totalsOf({ ...o.columns, totalAmount: o.totalAmount }, p.currency),
    // As a read shows them: the checkout's code on the orders it discounted, the rate's name.
    promotionCode: o.columns.promotionId === null ? null : p.priced.promotion?.code ?? null,
    shippingMethod: o.columns.shippingRateName,
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
