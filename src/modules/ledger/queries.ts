import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import { money } from '../../platform/money.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import type { Balance, LedgerEntryView, LedgerQuery } from './schemas.ts'
import type { LedgerBucket, LedgerEntryType, ReversalStatus, TransferStatus } from './types.ts'

// Reads of the ledger: a workspace's balance per currency and its entries (keyset, newest
// first), the platform's commission, and the transfers and reversals for operations. Each is one statement.

interface BalanceRow { currency: string, pending: string, paidOut: string, sales: string, refunds: string, commission: string, net: string, inFlight: string }

/** A workspace's balance per currency: pending (minus what is in transit), in transit, paid out, and lifetime sums. */
export async function workspaceBalance (deps: Pick<Deps, 'db'>, workspaceId: string): Promise<Balance> {
  const { rows } = await sql<BalanceRow>`
    with l as (
      select currency,
        coalesce(sum(amount) filter (where bucket = 'pending'), 0) as pending,
        coalesce(sum(amount) filter (where bucket = 'paid_out'), 0) as paid_out,
        coalesce(sum(amount) filter (where type = 'sale'), 0) as sales,
        coalesce(-sum(amount) filter (where type = 'refund'), 0) as refunds,
        coalesce(-sum(amount) filter (where type in ('commission', 'commission_refund')), 0) as commission,
        coalesce(sum(amount), 0) as net
      from ledger_entries where workspace_id = ${workspaceId} group by currency),
    f as (select currency, sum(amount) as in_flight from vendor_transfers where workspace_id = ${workspaceId} and status = 'in_flight' group by currency)
    select l.currency, l.pending, l.paid_out as "paidOut", l.sales, l.refunds, l.commission, l.net, coalesce(f.in_flight, 0) as "inFlight"
    from l left join f on f.currency = l.currency order by l.currency`.execute(deps.db)
  return {
    items: rows.map((r) => {
      const inFlight = Number(r.inFlight)
      return {
        currency: r.currency,
        pending: money(Number(r.pending) - inFlight, r.currency),
        inTransit: money(inFlight, r.currency),
        paidOut: money(Number(r.paidOut), r.currency),
        lifetime: { sales: money(Number(r.sales), r.currency), refunds: money(Number(r.refunds), r.currency), commission: money(Number(r.commission), r.currency), net: money(Number(r.net), r.currency) }
      }
    })
  }
}

/** A workspace's ledger entries, newest first (keyset on id). */
export async function workspaceLedger (deps: Pick<Deps, 'db'>, workspaceId: string, query: LedgerQuery): Promise<PageOf<LedgerEntryView>> {
  const after = decodeCursor(query.cursor, ['uuid'] as const)
  let q = deps.db.selectFrom('ledgerEntries as e')
    .leftJoin('vendorTransfers as t', 't.id', 'e.transferId')
    .leftJoin('transferReversals as r', 'r.id', 'e.reversalId')
    .select(['e.id', 'e.type', 'e.bucket', 'e.amount', 'e.currency', 'e.orderId', 'e.refundId', 'e.transferId', 'e.createdAt'])
    .select(sql<string | null>`case when e.reversal_id is not null then r.stripe_reversal_id else t.stripe_transfer_id end`.as('stripeId'))
    .where('e.workspaceId', '=', workspaceId)
  if (query.currency) q = q.where('e.currency', '=', query.currency)
  if (query.type) q = q.where('e.type', '=', query.type)
  if (query.orderId) q = q.where('e.orderId', '=', query.orderId)
  if (after) q = q.where('e.id', '<', after[0])
  const rows = await q.orderBy('e.id', 'desc').limit(query.limit + 1).execute()
  return toPage(rows, query.limit, (r) => ({
    id: r.id,
    type: r.type as LedgerEntryType,
    bucket: r.bucket as Exclude<LedgerBucket, 'platform'>,
    amount: money(r.amount, r.currency),
    orderId: r.orderId,
    refundId: r.refundId,
    transferId: r.transferId,
    stripeId: r.stripeId,
    createdAt: r.createdAt
  }), (r) => [r.id])
}

interface CommissionRow { currency: string, commission: string, returned: string, funding: string, net: string }

/** The platform's rows per currency, optionally in [from, to). */
export async function commissionReport (deps: Pick<Deps, 'db'>, range: { from?: string, to?: string }) {
  const { rows } = await sql<CommissionRow>`
    select currency,
      coalesce(sum(amount) filter (where type = 'commission'), 0) as commission,
      coalesce(-sum(amount) filter (where type = 'commission_refund'), 0) as returned,
      coalesce(sum(amount) filter (where type in ('discount_funding', 'funding_refund')), 0) as funding,
      coalesce(sum(amount), 0) as net
    from ledger_entries
    where workspace_id is null
      and (${range.from ?? null}::timestamptz is null or created_at >= ${range.from ?? null}::timestamptz)
      and (${range.to ?? null}::timestamptz is null or created_at < ${range.to ?? null}::timestamptz)
    group by currency order by currency`.execute(deps.db)
  return {
    items: rows.map((r) => ({
      currency: r.currency,
      commission: money(Number(r.commission), r.currency),
      commissionReturned: money(Number(r.returned), r.currency),
      discountFunding: money(Number(r.funding), r.currency),
      net: money(Number(r.net), r.currency)
    }))
  }
}

function transfersQuery (deps: Pick<Deps, 'db'>) {
  return deps.db.selectFrom('vendorTransfers as t')
    .select(['t.id', 't.orderId', 't.workspaceId', 't.kind', 't.amount', 't.currency', 't.status', 't.attempts', 't.lastError', 't.stripeTransferId', 't.updatedAt'])
    .select((eb) => eb.fn.coalesce(eb.selectFrom('transferReversals as r').select((e) => e.fn.sum<number>('r.amount').as('s'))
      .whereRef('r.transferId', '=', 't.id').where('r.status', 'in', ['pending', 'paid']), sql<number>`0`).as('reversed'))
}

type TransferRow = Awaited<ReturnType<ReturnType<typeof transfersQuery>['executeTakeFirstOrThrow']>>

function transferView (r: TransferRow) {
  return {
    id: r.id,
    orderId: r.orderId,
    workspaceId: r.workspaceId,
    kind: r.kind as 'sale' | 'topup',
    amount: money(r.amount, r.currency),
    reversed: money(Number(r.reversed), r.currency),
    status: r.status as TransferStatus,
    attempts: r.attempts,
    lastError: r.lastError,
    stripeTransferId: r.stripeTransferId,
    updatedAt: r.updatedAt
  }
}

/** Transfers for operations (newest first), e.g. the failed ones. */
export async function listTransfers (deps: Pick<Deps, 'db'>, query: { status?: TransferStatus, workspaceId?: string, limit: number, cursor?: string }) {
  const after = decodeCursor(query.cursor, ['uuid'] as const)
  let q = transfersQuery(deps)
  if (query.status) q = q.where('t.status', '=', query.status)
  if (query.workspaceId) q = q.where('t.workspaceId', '=', query.workspaceId)
  if (after) q = q.where('t.id', '<', after[0])
  const rows = await q.orderBy('t.id', 'desc').limit(query.limit + 1).execute()
  return toPage(rows, query.limit, transferView, (r) => [r.id])
}

/** One transfer as operations see it. */
export async function transferById (deps: Pick<Deps, 'db'>, id: string) {
  return transferView(await transfersQuery(deps).where('t.id', '=', id).executeTakeFirstOrThrow())
}

/** Transfer reversals for operations (newest first), e.g. the failed ones: the platform funded that vendor part. */
export async function listReversals (deps: Pick<Deps, 'db'>, query: { status?: ReversalStatus, workspaceId?: string, limit: number, cursor?: string }) {
  const after = decodeCursor(query.cursor, ['uuid'] as const)
  let q = deps.db.selectFrom('transferReversals as r').innerJoin('vendorTransfers as t', 't.id', 'r.transferId')
    .select(['r.id', 'r.transferId', 't.orderId', 't.workspaceId', 'r.refundId', 'r.amount', 't.currency', 'r.status', 'r.attempts', 'r.lastError', 'r.stripeReversalId', 'r.updatedAt'])
  if (query.status) q = q.where('r.status', '=', query.status)
  if (query.workspaceId) q = q.where('t.workspaceId', '=', query.workspaceId)
  if (after) q = q.where('r.id', '<', after[0])
  const rows = await q.orderBy('r.id', 'desc').limit(query.limit + 1).execute()
  return toPage(rows, query.limit, (r) => ({
    id: r.id,
    transferId: r.transferId,
    orderId: r.orderId,
    workspaceId: r.workspaceId,
    refundId: r.refundId,
    amount: money(r.amount, r.currency),
    status: r.status as ReversalStatus,
    attempts: r.attempts,
    lastError: r.lastError,
    stripeReversalId: r.stripeReversalId,
    updatedAt: r.updatedAt
  }), (r) => [r.id])
}
