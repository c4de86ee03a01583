// The order lifecycle (SPEC 8.4) as one declarative table: for each status, the statuses it
// may move to and who may move it there. Anything else is refused with 409.

export type OrderStatus = 'pending' | 'confirmed' | 'shipped' | 'delivered' | 'cancelled'
export type PaymentStatus = 'unpaid' | 'paid' | 'failed' | 'refunded' | 'partially_refunded'
export type Actor = 'customer' | 'workspace' | 'payment' | 'system'

export const TRANSITIONS: Record<OrderStatus, Partial<Record<OrderStatus, readonly Actor[]>>> = {
  pending: { confirmed: ['payment'], cancelled: ['customer', 'workspace', 'system'] },
  confirmed: { shipped: ['workspace'], cancelled: ['customer', 'workspace', 'system'] },
  shipped: { delivered: ['workspace'] },
  delivered: {},
  cancelled: {}
}

export function canTransition (from: OrderStatus, to: OrderStatus, actor: Actor): boolean {
  return TRANSITIONS[from][to]?.includes(actor) ?? false
}
