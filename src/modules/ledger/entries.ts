import type { Insertable } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import type { LedgerEntries } from '../../platform/db-types.ts'
import type { LedgerBucket, LedgerEntryType } from './types.ts'

// Ledger rows: signed amounts seen from the bucket's owner (a vendor's pending and paid_out, the
// platform's rows without a workspace). Rows are only ever inserted (a trigger refuses changes);
// a zero amount is no row.

export type EntryRow = Insertable<LedgerEntries>

export interface EntryRefs { orderId?: string | null, refundId?: string | null, transferId?: string | null, reversalId?: string | null }

export function entryMaker (deps: Pick<Deps, 'clock' | 'random'>, currency: string, refs: EntryRefs) {
  const createdAt = deps.clock.now()
  const rows: EntryRow[] = []
  const add = (workspaceId: string | null, bucket: LedgerBucket, type: LedgerEntryType, amount: number): void => {
    if (amount === 0) return
    rows.push({
      id: deps.random.uuid(),
      workspaceId: bucket === 'platform' ? null : workspaceId,
      currency,
      bucket,
      type,
      amount,
      orderId: refs.orderId ?? null,
      refundId: refs.refundId ?? null,
      transferId: refs.transferId ?? null,
      reversalId: refs.reversalId ?? null,
      createdAt
    })
  }
  return { rows, add }
}
