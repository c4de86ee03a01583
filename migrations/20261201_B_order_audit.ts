import { sql, type Kysely } from 'kysely'

// Audit columns on orders (issue 15, item 5), like users, workspaces, vendor profiles and
// products: created_by is the customer who checked out; updated_by the last person who changed
// the order (a status move, a cancel, a refund asked for). Changes the payment provider or the
// system (expiry) make leave updated_by as it was.
export async function up (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('orders')
    .addColumn('created_by', 'uuid')
    .addColumn('updated_by', 'uuid')
    .execute()
  // Orders placed before: the customer created each; the last move a person made in its history
  // (and every order has the customer's checkout there) says who changed it last.
  await sql`update orders o set created_by = o.user_id,
    updated_by = (select h.actor_id from order_history h where h.order_id = o.id and h.actor_id is not null order by h.at desc, h.id desc limit 1)`.execute(db)
}

export async function down (db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('orders').dropColumn('updated_by').dropColumn('created_by').execute()
}
