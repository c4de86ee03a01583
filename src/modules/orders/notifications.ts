import type { Deps } from '../../platform/deps.ts'
import type { Trx } from '../../platform/db.ts'
import { emailInTransaction, type EmailTemplate } from '../../platform/mail.ts'
import { formatMoney, money } from '../../platform/money.ts'
import { publicUrl } from '../../platform/public-url.ts'
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

const customerLink = (deps: Deps, orderId: string) => publicUrl(deps.config, `/orders/${orderId}`)

/** An order email to the customer (and, for a new paid order, to the owner). */
export async function emailAboutOrder (trx: Trx, deps: Deps, orderId: string, template: EmailTemplate<OrderVars>, alsoOwner = false): Promise<void> {
  const row = await orderWithCustomer(trx, orderId)
    .innerJoin(userContacts(trx).as('owner'), 'owner.id', 'w.ownerId')
    .select(['owner.email as ownerEmail', 'owner.name as ownerName'])
    .executeTakeFirstOrThrow()
  const common = { orderId: row.id, storeName: row.storeName, total: formatMoney(money(row.totalAmount, row.currency)) }
  await emailInTransaction(trx, deps.sealer, template, row.email, { ...common, name: row.name, link: customerLink(deps, row.id) })
  if (alsoOwner) await emailInTransaction(trx, deps.sealer, newPaidOrderEmail, row.ownerEmail, { ...common, name: row.ownerName, link: publicUrl(deps.config, `/workspaces/${row.workspaceId}/orders/${row.id}`) })
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
