import { sql } from 'kysely'
import type { Queryable, Trx } from '../../platform/db.ts'

// A checkout is what one payment pays for: its orders (one per workspace), its total, and the
// provider's payment intent. Every money decision locks the checkout row, then its orders in id order.
// The locks are FOR NO KEY UPDATE (what an UPDATE of these rows takes: their ids never change):
// they exclude each other, but not the key-share lock a foreign key takes. The worker writes
// ledger rows that reference an order while it holds that order's transfer, and a refund holds
// the orders before it locks the transfer: were the orders locked FOR UPDATE, each would wait
// for the other (test/modules/ledger/lock-order.test.ts).

export async function lockCheckout (trx: Trx, checkoutId: string) {
  return trx.selectFrom('checkouts').select(['id', 'totalAmount', 'currency', 'amountReceived', 'paymentIntentId'])
    .where('id', '=', checkoutId).forNoKeyUpdate().executeTakeFirstOrThrow()
}

export async function lockOrdersOf (trx: Trx, checkoutId: string) {
  return trx.selectFrom('orders').select(['id', 'status', 'paymentStatus', 'totalAmount', 'paidAmount', 'refundedAmount', 'workspaceId', 'checkoutId', 'updatedAt', 'currency', 'commissionAmount', 'platformFundedDiscount'])
    .where('checkoutId', '=', checkoutId).orderBy('id').forNoKeyUpdate().execute()
}

/** What a checkout still owes: the total of its orders not cancelled. */
export async function owedAmount (db: Queryable, checkoutId: string): Promise<number> {
  const row = await db.selectFrom('orders').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('totalAmount'), sql<number>`0`).as('owed'))
    .where('checkoutId', '=', checkoutId).where('status', '!=', 'cancelled').executeTakeFirstOrThrow()
  return Number(row.owed)
}

export interface CheckoutRecord {
  id: string
  userId: string
  provider: string
  currency: string
  paymentIntentId: string | null
  /** Set once, when a payment is applied. */
  amountReceived: number | null
}

const recordColumns = ['id', 'userId', 'provider', 'currency', 'paymentIntentId', 'amountReceived'] as const

/** The checkout a provider payment intent belongs to, if it is one of ours. */
export async function checkoutByIntent (db: Queryable, paymentIntentId: string): Promise<CheckoutRecord | undefined> {
  return db.selectFrom('checkouts').select(recordColumns).where('paymentIntentId', '=', paymentIntentId).executeTakeFirst()
}

/** A checkout of `userId`; `null` for any owner's (an admin, a local script). */
export async function checkoutOfOwner (db: Queryable, checkoutId: string, userId: string | null): Promise<CheckoutRecord | undefined> {
  let q = db.selectFrom('checkouts').select(recordColumns).where('id', '=', checkoutId)
  if (userId !== null) q = q.where('userId', '=', userId)
  return q.executeTakeFirst()
}
