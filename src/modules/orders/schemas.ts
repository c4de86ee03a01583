import { Type } from '@sinclair/typebox'
import { MoneyRef } from '../../platform/money.ts'
import { Nullable, Text, Timestamp } from '../../platform/schema-types.ts'

const strict = { additionalProperties: false } as const
const Uuid = Type.String({ format: 'uuid' })
export const OrderStatus = Type.Union(['pending', 'confirmed', 'shipped', 'delivered', 'cancelled'].map((s) => Type.Literal(s)))
const PaymentStatus = Type.Union(['unpaid', 'paid', 'failed', 'refunded', 'partially_refunded'].map((s) => Type.Literal(s)))
const Actor = Type.Union(['customer', 'workspace', 'payment', 'system'].map((s) => Type.Literal(s)))

export const ShippingAddress = Type.Object({
  name: Type.Optional(Text({ minLength: 1, maxLength: 120 })),
  street: Text({ minLength: 1, maxLength: 200 }),
  city: Text({ minLength: 1, maxLength: 120 }),
  state: Type.Optional(Nullable(Text({ minLength: 1, maxLength: 120 }))),
  zipCode: Text({ minLength: 1, maxLength: 20 }),
  country: Type.String({ pattern: '^[A-Za-z]{2}$' }),
  phone: Type.Optional(Nullable(Type.String({ pattern: '^\\+?[0-9 ()-]{6,20}$' })))
}, strict)

export const CheckoutBody = Type.Union([
  Type.Object({ shippingAddressId: Uuid, note: Type.Optional(Text({ maxLength: 1000 })) }, strict),
  Type.Object({ shippingAddress: ShippingAddress, note: Type.Optional(Text({ maxLength: 1000 })) }, strict)
], { examples: [{ shippingAddressId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f', note: 'Leave at the door' }] })

export const OrderView = Type.Object({
  id: Uuid,
  checkoutId: Uuid,
  workspaceId: Uuid,
  userId: Uuid,
  status: OrderStatus,
  paymentStatus: PaymentStatus,
  total: MoneyRef,
  refunded: MoneyRef,
  items: Type.Array(Type.Object({
    id: Uuid,
    productId: Uuid,
    variantId: Uuid,
    title: Type.String(),
    size: Nullable(Type.String()),
    sku: Type.String(),
    unitPrice: MoneyRef,
    quantity: Type.Integer(),
    lineTotal: MoneyRef
  })),
  history: Type.Array(Type.Object({ from: Nullable(OrderStatus), to: OrderStatus, actor: Actor, actorId: Nullable(Uuid), reason: Nullable(Type.String()), at: Timestamp() })),
  shippingAddress: Type.Record(Type.String(), Type.Unknown()),
  note: Nullable(Type.String()),
  paidAt: Type.Union([Timestamp(), Type.Null()]),
  createdAt: Timestamp(),
  updatedAt: Timestamp()
}, { $id: 'OrderView' })
export const OrderRef = Type.Ref('OrderView')

export const CheckoutResponse = Type.Object({
  checkoutId: Uuid,
  orders: Type.Array(OrderRef, { description: 'one per workspace' }),
  total: MoneyRef,
  payment: Type.Object({
    provider: Type.Union([Type.Literal('stripe'), Type.Literal('simulator')]),
    paymentIntentId: Type.String(),
    clientSecret: Type.String({ description: 'for Stripe.js on the client' }),
    status: Type.String()
  })
})

export const OrderParams = Type.Object({ id: Uuid })
export const WorkspaceOrderParams = Type.Object({ wid: Uuid, id: Uuid })
export const WorkspaceParams = Type.Object({ wid: Uuid })
export const ListQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }), cursor: Type.Optional(Text({ maxLength: 512 })) }, strict)
export const WorkspaceListQuery = Type.Object({ status: Type.Optional(OrderStatus), limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }), cursor: Type.Optional(Text({ maxLength: 512 })) }, strict)
export const CancelBody = Type.Object({ reason: Type.Optional(Text({ minLength: 1, maxLength: 500 })) }, strict)
export const StatusBody = Type.Object({ status: OrderStatus, reason: Type.Optional(Text({ minLength: 1, maxLength: 500 })) }, { ...strict, examples: [{ status: 'shipped' }] })
export const RefundBody = Type.Object({
  amount: Type.Optional(Type.Integer({ minimum: 1, description: 'minor units; default: all that is left to refund' })),
  reason: Type.Optional(Text({ minLength: 1, maxLength: 500 }))
}, { ...strict, examples: [{ amount: 500, reason: 'damaged item' }] })
