import type { Deps } from '../../platform/deps.ts'
import type { Trx } from '../../platform/db.ts'
import { emailInTransaction, sealEmail, type EmailTemplate } from '../../platform/mail.ts'
import { outboxInsert, type OutboxMessage } from '../../platform/outbox.ts'
import { formatMoney, money } from '../../platform/money.ts'
import { appLink } from '../../platform/public-url.ts'
import { userContacts } from '../users/public.ts'
import { workspaceStores } from '../workspaces/public.ts'
import { newPaidOrderEmail, orderRefundedEmail, type OrderVars } from './emails.ts'

// Who hears of an order's changes, through the outbox in the transaction of the change: its
// customer, and for a new paid order the store's owner. One statement reads the order with
// its customer's and store's names (the users and workspaces modules' subqueries, joined).

function orderWithCustomer (trx: Trx, orderId: string) {
  return trx.selectFrom('orders as o')
    .innerJoin(userContacts(trx).as('c'), 'c.id', 'o.userId')
    .innerJoin(workspaceStores(trx).as('w'), 'w.id', 'o.workspaceId')
    .select(['o.id', 'o.workspaceId', 'o.totalAmount', 'o.currency', 'c.email', 'c.name', 'w.name as storeName'])
    .where('o.id', '=', orderId)
}

const customerLink = (deps: Deps, orderId: string) => appLink(deps.config, `/orders/${orderId}`)

export interface OrderFacts { id: string, totalAmount: number, currency: string, storeName: string }

/** An order email to its customer, as an outbox message (for a caller that writes several in one statement). */
export function customerOrderEmail (deps: Deps, template: EmailTemplate<OrderVars>, order: OrderFacts, customer: { email: string, name: string }): OutboxMessage {
  const vars: OrderVars = { orderId: order.id, storeName: order.storeName, total: formatMoney(money(order.totalAmount, order.currency)), name: customer.name, link: customerLink(deps, order.id) }
  return { queue: 'email', jobName: template.name, payload: sealEmail(deps.sealer, template.name, { to: customer.email, vars: { ...vars } }) }
}

/** An order email to the customer (and, for a new paid order, to the owner). */
export async function emailAboutOrder (trx: Trx, deps: Deps, orderId: string, template: EmailTemplate<OrderVars>, alsoOwner = false): Promise<void> {
  const row = await orderWithCustomer(trx, orderId)
    .innerJoin(userContacts(trx).as('owner'), 'owner.id', 'w.ownerId')
    .select(['owner.email as ownerEmail', 'owner.name as ownerName'])
    .executeTakeFirstOrThrow()
  await outboxInsert(trx, [customerOrderEmail(deps, template, row, row)]).execute()
  if (alsoOwner) {
    await emailInTransaction(trx, deps.sealer, newPaidOrderEmail, row.ownerEmail, {
      orderId: row.id, storeName: row.storeName, total: formatMoney(money(row.totalAmount, row.currency)), name: row.ownerName, link: appLink(deps.config, `/workspaces/${row.workspaceId}/orders/${row.id}`)
    })
  }
}

/** Tells the customer that `amount` of their order was refunded. */
export async function emailAboutRefund (trx: Trx, deps: Deps, orderId: string, amount: number): Promise<void> {
  const row = await orderWithCustomer(trx, orderId).executeTakeFirstOrThrow()
  await emailInTransaction(trx, deps.sealer, orderRefundedEmail, row.email, {
    name: row.name,
    orderId: row.id,
    storeName: row.storeName,
    total: formatMoney(money(row.totalAmount, row.currency)),
    refunded: formatMoney(money(amount, row.currency)),
    link: customerLink(deps, row.id)
  })
}
