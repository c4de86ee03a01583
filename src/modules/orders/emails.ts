import { defineTemplate, html, layout } from '../../platform/mail.ts'

// Order emails, written to the outbox in the transaction of the change they report.

export interface OrderVars { name: string, orderId: string, storeName: string, total: string, link: string }

const shortId = (id: string) => id.slice(-8).toUpperCase()

function orderEmail (name: string, subject: (v: OrderVars) => string, line: (v: OrderVars) => string) {
  return defineTemplate(name, (v: OrderVars) => ({
    subject: subject(v),
    text: `Hello ${v.name},\n\n${line(v)}\nOrder ${shortId(v.orderId)} from ${v.storeName}, total ${v.total}.\n\nDetails: ${v.link}`,
    html: layout(subject(v), html`<p>Hello ${v.name},</p><p>${line(v)}</p><p>Order <strong>${shortId(v.orderId)}</strong> from ${v.storeName}, total ${v.total}.</p><p><a href="${v.link}">See the order</a></p>`)
  }))
}

export const orderPlacedEmail = orderEmail('order-placed', (v) => `Order ${shortId(v.orderId)} placed`, () => 'We received your order; it is confirmed as soon as the payment goes through.')
export const paymentConfirmedEmail = orderEmail('payment-confirmed', (v) => `Payment received for order ${shortId(v.orderId)}`, () => 'Your payment went through and your order is confirmed.')
export const orderShippedEmail = orderEmail('order-shipped', (v) => `Order ${shortId(v.orderId)} shipped`, () => 'Your order is on its way.')
export const orderDeliveredEmail = orderEmail('order-delivered', (v) => `Order ${shortId(v.orderId)} delivered`, () => 'Your order was delivered. Enjoy!')
export const orderCancelledEmail = orderEmail('order-cancelled', (v) => `Order ${shortId(v.orderId)} cancelled`, () => 'Your order was cancelled. Any payment taken is refunded.')
export const orderRefundedEmail = defineTemplate('order-refunded', (v: OrderVars & { refunded: string }) => ({
  subject: `Refund for order ${shortId(v.orderId)}`,
  text: `Hello ${v.name},\n\n${v.refunded} was refunded for order ${shortId(v.orderId)} from ${v.storeName} (total ${v.total}).\n\nDetails: ${v.link}`,
  html: layout('Refund', html`<p>Hello ${v.name},</p><p>${v.refunded} was refunded for order <strong>${shortId(v.orderId)}</strong> from ${v.storeName} (total ${v.total}).</p><p><a href="${v.link}">See the order</a></p>`)
}))
export const newPaidOrderEmail = orderEmail('new-paid-order', (v) => `New paid order ${shortId(v.orderId)}`, (v) => `A customer paid for an order at ${v.storeName}: time to pack it.`)
