import { sql } from 'kysely'
import t from 'tap'
import type { Db } from '../../../src/platform/db.ts'
import { eventually } from '../../helpers/eventually.ts'
import { expectedEarnings, ledgerSums, transfersOf } from '../../helpers/ledger.ts'
import { scene, signedDelivery } from '../../helpers/ledger-scene.ts'

// Issue 14: a refund Stripe announces (charge.refunded) and the worker recording a transfer
// Stripe has just made meet on two rows: the order and its transfer. The refund locks the
// checkout's orders, then the transfer; recording the transfer updates the transfer, then writes
// ledger rows whose foreign key on the order takes a key-share lock on it. Were the orders
// locked FOR UPDATE (which excludes key-share), each would wait for the other: a deadlock, and
// Postgres aborting one of them (a 500 to Stripe, seen once in a random schedule on the
// topology). Here the interleaving is forced: a test transaction holds the transfer while
// the worker's write, then the refund, queue behind it; then it lets go.

const waitingOnLocks = async (db: Db, n: number) =>
  eventually(async () => {
    const { rows } = await sql<{ n: string }>`select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(db)
    return Number(rows[0]!.n) >= n ? true : null
  }, 20000)

t.test('a refund announced while the worker records the transfer it refunds: both go through, the refund reverses the transfer', async (t) => {
  const s = await scene(t)
  const { env, stripe, checkoutId, intentId } = s
  const db = env.app.db
  const hold = stripe.holdResponses((method, path) => method === 'POST' && path === '/v1/transfers')
  t.equal((await signedDelivery(s, stripe.pay(intentId))).statusCode, 200)
  // Stripe made both transfers; their answers are held, so both rows are claimed and unrecorded.
  await eventually(() => hold.held() === 2 ? true : null, 20000)
  // The refund lands on the checkout's first order by id (a standing order; it fits there).
  const first = (await db.selectFrom('orders').select(['id', 'totalAmount', 'workspaceId']).where('checkoutId', '=', checkoutId).orderBy('id').execute())[0]!
  const transfer = (await transfersOf(env, checkoutId)).find((r) => r.orderId === first.id)!
  t.equal(transfer.status, 'in_flight')

  // Hold that transfer's row, as a transaction that is simply slow.
  let letGo!: () => void
  const held = new Promise<void>((resolve) => { letGo = resolve })
  let locked!: () => void
  const isLocked = new Promise<void>((resolve) => { locked = resolve })
  const holder = db.transaction().execute(async (trx) => {
    await trx.selectFrom('vendorTransfers').select('id').where('id', '=', transfer.id).forUpdate().execute()
    locked()
    await held
  })
  await isLocked
  // The worker records what Stripe made: its update of the row waits.
  hold.release()
  await waitingOnLocks(db, 1)
  // Stripe announces a refund of 500 on that order: its transaction locks the orders, then waits for the row.
  const refunded = signedDelivery(s, stripe.refundAtProvider(intentId, 500))
  await waitingOnLocks(db, 2)
  letGo()
  await holder

  const res = await refunded
  t.equal(res.statusCode, 200, `the refund is recorded: ${res.body}`)
  const rows = await eventually(async () => {
    const r = await transfersOf(env, checkoutId)
    return r.every((x) => x.status === 'paid') ? r : null
  }, 20000)
  t.equal(rows.length, 2, 'both transfers recorded as paid')
  // Neither transaction was aborted: the worker's write went through the first time (an
  // aborted one is retried: a second claim, and a second request to Stripe under the same key).
  t.equal(rows.find((r) => r.id === transfer.id)!.attempts, 1, 'the transfer was claimed once')
  t.equal(stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/transfers').length, 2, 'Stripe was asked once per transfer')
  const order = await db.selectFrom('orders').select('refundedAmount').where('id', '=', first.id).executeTakeFirstOrThrow()
  t.equal(order.refundedAmount, 500, 'the refund is on the order')
  // The transfer was made before the refund was recorded, so it is reversed in proportion, once.
  const reversals = await eventually(async () => {
    const r = await db.selectFrom('transferReversals').select(['amount', 'status']).where('transferId', '=', transfer.id).execute()
    return r.length === 1 && r[0]!.status === 'paid' ? r : null
  }, 20000)
  t.ok(reversals[0]!.amount > 0 && reversals[0]!.amount <= 500, `reversed in proportion (${reversals[0]!.amount})`)
  const expected = await expectedEarnings(env, first.workspaceId)
  t.same(await ledgerSums(env, first.workspaceId), { pending: 0, paidOut: expected, platform: 0, total: expected }, 'the ledger: what the vendor earned, all paid out')
})
