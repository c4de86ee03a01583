import { Type, type Static } from '@sinclair/typebox'
import { Money } from '../../platform/money.ts'
import { Nullable, NullableTimestamp, Strict, Text, Timestamp, Uuid } from '../../platform/schema-types.ts'

export const OrderStatus = Type.Union([Type.Literal('pending'), Type.Literal('confirmed'), Type.Literal('shipped'), Type.Literal('delivered'), Type.Literal('cancelled')])
export type OrderStatus = Static<typeof OrderStatus>
export const PaymentStatus = Type.Union([Type.Literal('unpaid'), Type.Literal('paid'), Type.Literal('failed'), Type.Literal('refunded'), Type.Literal('partially_refunded')])
export type PaymentStatus = Static<typeof PaymentStatus>
/** Who moves an order: its customer, its workspace, the payment, or the system (expiry). */
export const Actor = Type.Union([Type.Literal('customer'), Type.Literal('workspace'), Type.Literal('payment'), Type.Literal('system')])
export type Actor = Static<typeof Actor>

export const ShippingAddress = Strict({
  name: Type.Optional(Text({ minLength: 1, maxLength: 120 })),
  street: Text({ minLength: 1, maxLength: 200 }),
  city: Text({ minLength: 1, maxLength: 120 }),
  state: Type.Optional(Nullable(Text({ minLength: 1, maxLength: 120 }))),
  zipCode: Text({ minLength: 1, maxLength: 20 }),
  country: Type.String({ pattern: '^[A-Za-z]{2}$' }),
  phone: Type.Optional(Nullable(Type.String({ pattern: '^\\+?[0-9 ()-]{6,20}$' })))
})
export type ShippingAddress = Static<typeof ShippingAddress>

export const CheckoutBody = Type.Union([
  Strict({ shippingAddressId: Uuid(), note: Type.Optional(Text({ maxLength: 1000 })) }),
  Strict({ shippingAddress: ShippingAddress, note: Type.Optional(Text({ maxLength: 1000 })) })
], { examples: [{ shippingAddressId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f', note: 'Leave at the door' }] })
export type CheckoutBody = Static<typeof CheckoutBody>

export const OrderItemView = Type.Object({
  id: Uuid(),
  productId: Uuid(),
  variantId: Uuid(),
  title: Type.String(),
  size: Nullable(Type.String()),
  sku: Type.String(),
  unitPrice: Type.Ref(Money),
  quantity: Type.Integer(),
  lineTotal: Type.Ref(Money)
})
export type OrderItemView = Static<typeof OrderItemView>

export const HistoryView = Type.Object({ from: Nullable(OrderStatus), to: OrderStatus, actor: Actor, actorId: Nullable(Uuid()), reason: Nullable(Type.String()), at: Timestamp() })
export type HistoryView = Static<typeof HistoryView>

export const OrderView = Type.Object({
  id: Uuid(),
  checkoutId: Uuid(),
  workspaceId: Uuid(),
  userId: Uuid(),
  status: OrderStatus,
  paymentStatus: PaymentStatus,
  total: Type.Ref(Money),
  refunded: Type.Ref(Money),
  items: Type.Array(OrderItemView),
  history: Type.Array(HistoryView),
  shippingAddress: Type.Record(Type.String(), Type.Unknown()),
  note: Nullable(Type.String()),
  paidAt: NullableTimestamp(),
  createdAt: Timestamp(),
  updatedAt: Timestamp()
}, { $id: 'OrderView' })
export type OrderView = Static<typeof OrderView>
/** Registered by the orders plugin; responses name it rather than repeat it. */
export const OrderRef = Type.Ref(OrderView)

export const CheckoutResponse = Type.Object({
  checkoutId: Uuid(),
  orders: Type.Array(OrderRef, { description: 'one per workspace' }),
  total: Type.Ref(Money),
  payment: Type.Object({
    provider: Type.Union([Type.Literal('stripe'), Type.Literal('simulator')]),
    paymentIntentId: Type.String(),
    clientSecret: Type.String({ description: 'for Stripe.js on the client' }),
    status: Type.String()
  })
})
export type CheckoutResponse = Static<typeof CheckoutResponse>

export const OrderParams = Type.Object({ id: Uuid() })
export const WorkspaceOrderParams = Type.Object({ wid: Uuid(), id: Uuid() })
export const WorkspaceParams = Type.Object({ wid: Uuid() })
export const ListQuery = Strict({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }), cursor: Type.Optional(Text({ maxLength: 512 })) })
export const WorkspaceListQuery = Strict({ status: Type.Optional(OrderStatus), limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }), cursor: Type.Optional(Text({ maxLength: 512 })) })
export const CancelBody = Strict({ reason: Type.Optional(Text({ minLength: 1, maxLength: 500 })) })
export const StatusBody = Strict({ status: OrderStatus, reason: Type.Optional(Text({ minLength: 1, maxLength: 500 })) }, { examples: [{ status: 'shipped' }] })
export const RefundBody = Strict({
  amount: Type.Optional(Type.Integer({ minimum: 1, description: 'minor units; default: all that is left to refund' })),
  reason: Type.Optional(Text({ minLength: 1, maxLength: 500 }))
}, { examples: [{ amount: 500, reason: 'damaged item' }] })
