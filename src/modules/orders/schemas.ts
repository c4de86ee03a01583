import { Type, type Static } from '@sinclair/typebox'
import { Money } from '../../platform/money.ts'
import { Page } from '../../platform/pagination.ts'
import { Nullable, NullableTimestamp, Strict, Text, Timestamp, Uuid } from '../../platform/schema-types.ts'
import { TotalsRef } from '../pricing/public.ts'

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

/** What a checkout may say besides where it ships to: one set, spread into both forms of the body. */
const checkoutOptions = {
  note: Type.Optional(Text({ maxLength: 1000 })),
  shippingRateIds: Type.Optional(Type.Array(Uuid(), { minItems: 1, maxItems: 50, uniqueItems: true, description: 'the shipping rate chosen for a store\'s order (at most one per store; GET /cart/shipping-options lists them); a store not named ships by its cheapest rate' })),
  // Part of the cart (one or the other, not both): these lines, or the lines of one currency.
  lines: Type.Optional(Type.Array(Uuid(), { minItems: 1, maxItems: 100, uniqueItems: true, description: 'Cart line ids (GET /cart items[].id) to check out; the other lines stay in the cart. Not with currency.' })),
  currency: Type.Optional(Type.String({ pattern: '^[a-z]{3}$', description: 'Check out only the cart lines priced in this currency; the others stay in the cart. Not with lines.', examples: ['usd'] }))
}
export const CheckoutBody = Type.Union([
  Strict({ shippingAddressId: Uuid(), ...checkoutOptions }),
  Strict({ shippingAddress: ShippingAddress, ...checkoutOptions })
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
  lineTotal: Type.Ref(Money),
  discount: Type.Ref(Money, { description: 'this line\'s part of the order\'s discount' }),
  tax: Type.Ref(Money, { description: 'this line\'s tax, rounded per line' })
})
export type OrderItemView = Static<typeof OrderItemView>

export const HistoryView = Type.Object({ from: Nullable(OrderStatus), to: OrderStatus, actor: Actor, actorId: Nullable(Uuid()), reason: Nullable(Type.String()), at: Timestamp() })
export type HistoryView = Static<typeof HistoryView>

const usd = (amount: number) => ({ amount, currency: 'usd' })
const orderExample = {
  id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9ea0',
  checkoutId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9ea1',
  workspaceId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80',
  userId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e70',
  status: 'confirmed',
  paymentStatus: 'paid',
  total: usd(8820),
  refunded: usd(0),
  totals: { subtotal: usd(8820), discount: usd(0), shipping: usd(0), tax: usd(0), taxInclusive: false, total: usd(8820) },
  promotionCode: null,
  shippingMethod: null,
  items: [{
    id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9ea2',
    productId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f',
    variantId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e83',
    title: 'Linen shirt',
    size: 'M',
    sku: 'LIN-M',
    unitPrice: usd(4410),
    quantity: 2,
    lineTotal: usd(8820),
    discount: usd(0),
    tax: usd(0)
  }],
  history: [
    { from: null, to: 'pending', actor: 'customer', actorId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e70', reason: null, at: '2026-11-21T10:00:00.000Z' },
    { from: 'pending', to: 'confirmed', actor: 'payment', actorId: null, reason: null, at: '2026-11-21T10:01:00.000Z' }
  ],
  shippingAddress: { street: '12 Analytical Row', city: 'London', zipCode: 'N1 9GU', country: 'GB' },
  note: null,
  paidAt: '2026-11-21T10:01:00.000Z',
  createdAt: '2026-11-21T10:00:00.000Z',
  updatedAt: '2026-11-21T10:01:00.000Z',
  createdBy: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e70',
  updatedBy: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e70'
}

export const OrderView = Type.Object({
  id: Uuid(),
  checkoutId: Uuid(),
  workspaceId: Uuid(),
  userId: Uuid(),
  status: OrderStatus,
  paymentStatus: PaymentStatus,
  total: Type.Ref(Money),
  refunded: Type.Ref(Money),
  totals: TotalsRef,
  promotionCode: Nullable(Type.String({ description: 'the code that discounted this order, as the customer entered it' })),
  shippingMethod: Nullable(Type.String({ description: 'the shipping rate\'s name; null when the store ships free without rates' })),
  items: Type.Array(OrderItemView),
  history: Type.Array(HistoryView),
  shippingAddress: Type.Record(Type.String(), Type.Unknown()),
  note: Nullable(Type.String()),
  paidAt: NullableTimestamp(),
  createdAt: Timestamp(),
  updatedAt: Timestamp(),
  createdBy: Nullable(Uuid({ description: 'the customer who checked out' })),
  updatedBy: Nullable(Uuid({ description: 'the last person who changed the order (status, cancel, refund); the payment provider and the system leave it as it was' }))
}, { $id: 'OrderView', examples: [orderExample] })
export type OrderView = Static<typeof OrderView>
/** Registered by the orders plugin; responses name it rather than repeat it. */
export const OrderRef = Type.Ref(OrderView)
export const OrderPage = Page(OrderRef, { examples: [{ items: [orderExample], nextCursor: null }] })

const workspaceOrderExample = { ...orderExample, commission: usd(882), commissionBps: 1000, platformFundedDiscount: usd(0), net: usd(7938) }
/** An order as its workspace sees it: what the platform takes, frozen at checkout, and what the vendor nets. */
export const WorkspaceOrderView = Type.Object({
  ...OrderView.properties,
  commission: Type.Ref(Money, { description: 'the platform\'s commission: commissionBps of the goods (after the discount the vendor funds, as if undiscounted by the platform-funded part, without shipping or tax), rounded half up' }),
  commissionBps: Type.Integer({ minimum: 0, maximum: 10000, description: 'the commission rate in basis points, as it was at checkout' }),
  platformFundedDiscount: Type.Ref(Money, { description: 'the part of the discount the platform pays for (added back to the vendor)' }),
  net: Type.Ref(Money, { description: 'the vendor\'s share: total − commission + platformFundedDiscount (before refunds)' })
}, { $id: 'WorkspaceOrderView', examples: [workspaceOrderExample] })
export type WorkspaceOrderView = Static<typeof WorkspaceOrderView>
export const WorkspaceOrderRef = Type.Ref(WorkspaceOrderView)
export const WorkspaceOrderPage = Page(WorkspaceOrderRef, { examples: [{ items: [workspaceOrderExample], nextCursor: null }] })

export const CheckoutResponse = Type.Object({
  checkoutId: Uuid(),
  orders: Type.Array(OrderRef, { description: 'one per workspace' }),
  total: Type.Ref(Money),
  totals: TotalsRef,
  payment: Type.Object({
    provider: Type.Union([Type.Literal('stripe'), Type.Literal('simulator')]),
    paymentIntentId: Type.String(),
    clientSecret: Type.String({ description: 'for Stripe.js on the client' }),
    status: Type.String()
  })
}, {
  examples: [{
    checkoutId: orderExample.checkoutId,
    orders: [{ ...orderExample, status: 'pending', paymentStatus: 'unpaid', history: orderExample.history.slice(0, 1), paidAt: null, updatedAt: orderExample.createdAt }],
    total: usd(8820),
    totals: orderExample.totals,
    payment: { provider: 'stripe', paymentIntentId: 'pi_3QkXyZ2eZvKYlo2C0a1b2c3d', clientSecret: 'pi_3QkXyZ2eZvKYlo2C0a1b2c3d_secret_4e5f6g7h', status: 'requires_payment_method' }
  }]
})
export type CheckoutResponse = Static<typeof CheckoutResponse>

export const OrderParams = Type.Object({ id: Uuid() })
export const WorkspaceOrderParams = Type.Object({ wid: Uuid(), id: Uuid() })
export const WorkspaceParams = Type.Object({ wid: Uuid() })
export const ListQuery = Strict({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }), cursor: Type.Optional(Text({ maxLength: 512 })) })
export const AdminOrderQuery = Strict({
  workspaceId: Type.Optional(Uuid()),
  userId: Type.Optional(Uuid({ description: 'the customer' })),
  status: Type.Optional(OrderStatus),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Text({ maxLength: 512 }))
})
export const WorkspaceListQuery = Strict({ status: Type.Optional(OrderStatus), limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }), cursor: Type.Optional(Text({ maxLength: 512 })) })
export const CancelBody = Strict({ reason: Type.Optional(Text({ minLength: 1, maxLength: 500 })) }, { examples: [{ reason: 'Ordered the wrong size' }] })
export const StatusBody = Strict({ status: OrderStatus, reason: Type.Optional(Text({ minLength: 1, maxLength: 500 })) }, { examples: [{ status: 'shipped' }] })
export const RefundBody = Strict({
  amount: Type.Optional(Type.Integer({ minimum: 1, description: 'minor units; default: all that is left to refund' })),
  reason: Type.Optional(Text({ minLength: 1, maxLength: 500 }))
}, { examples: [{ amount: 500, reason: 'damaged item' }] })
