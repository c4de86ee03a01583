import type { Actor, OrderStatus, PaymentStatus } from './schemas.ts'

// The order lifecycle (SPEC 8.4) as one declarative table: for each status, the statuses it
// may move to and who may move it there. Anything else is refused with 409.

export type { Actor, OrderStatus, PaymentStatus }

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

/** Payment statuses of an order no payment reached: cancelling it refunds nothing, a payment may still apply to it. */
export const UNPAID: readonly PaymentStatus[] = ['unpaid', 'failed']
export const isUnpaid = (status: string): boolean => (UNPAID as readonly string[]).includes(status)

/** Payment statuses of an order that holds money of its customer (what a refund can come from). */
export const holdsPayment = (status: string): boolean => status === 'paid' || status === 'partially_refunded'
