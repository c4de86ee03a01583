import { defineTemplate, html, layout } from '../../platform/mail.ts'

// Order emails, written to the outbox in the transaction of the change they report.

interface OrderVars { name: string, orderId: string, storeName: string, total: string, link: string }

const shortId = (id: string) => id.slice(-8).toUpperCase()

function orderEmail (subject: (v: OrderVars) => string, line: (v: OrderVars) => string) {
  return defineTemplate((v: OrderVars) => ({
    subject: subject(v),
    text: `Hello ${v.name},\n\n${line(v)}\nOrder ${shortId(v.orderId)} from ${v.storeName}, total ${v.total}.\n\nDetails: ${v.link}`,
    html: layout(subject(v), html`<p>Hello ${v.name},</p><p>${line(v)}</p><p>Order <strong>${shortId(v.orderId)}</strong> from ${v.storeName}, total ${v.total}.</p><p><a href="${v.link}">See the order</a></p>`)
  }))
}

export const orderEmails = {
  'order-placed': orderEmail((v) => `Order ${shortId(v.orderId)} placed`, () => 'We received your order; it is confirmed as soon as the payment goes through.'),
  'payment-confirmed': orderEmail((v) => `Payment received for order ${shortId(v.orderId)}`, () => 'Your payment went through and your order is confirmed.'),
  'order-shipped': orderEmail((v) => `Order ${shortId(v.orderId)} shipped`, () => 'Your order is on its way.'),
  'order-delivered': orderEmail((v) => `Order ${shortId(v.orderId)} delivered`, () => 'Your order was delivered. Enjoy!'),
  'order-cancelled': orderEmail((v) => `Order ${shortId(v.orderId)} cancelled`, () => 'Your order was cancelled. Any payment taken is refunded.'),
  'order-refunded': defineTemplate((v: OrderVars & { refunded: string }) => ({
    subject: `Refund for order ${shortId(v.orderId)}`,
    text: `Hello ${v.name},\n\n${v.refunded} was refunded for order ${shortId(v.orderId)} from ${v.storeName} (total ${v.total}).\n\nDetails: ${v.link}`,
    html: layout('Refund', html`<p>Hello ${v.name},</p><p>${v.refunded} was refunded for order <strong>${shortId(v.orderId)}</strong> from ${v.storeName} (total ${v.total}).</p><p><a href="${v.link}">See the order</a></p>`)
  })),
  'new-paid-order': orderEmail((v) => `New paid order ${shortId(v.orderId)}`, (v) => `A customer paid for an order at ${v.storeName}: time to pack it.`)
}
