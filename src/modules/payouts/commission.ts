import type { Queryable } from '../../platform/db.ts'
import type { Deps } from '../../platform/deps.ts'
import { lockLiveWorkspace } from '../workspaces/public.ts'
import type { PayoutAccountView } from './schemas.ts'
import type { PayoutStatus } from './status.ts'

// A workspace's payout account as its owner and admins see it, and the platform admin's
// commission override. The override applies to orders placed after it: checkout reads it in
// its facts statement (commissionFacts) and freezes it on each order.

const COLUMNS = ['status', 'stripeAccountId', 'chargesEnabled', 'payoutsEnabled', 'detailsSubmitted', 'requirementsDue', 'disabledReason', 'commissionBps', 'updatedAt'] as const

type AccountRow = { [K in typeof COLUMNS[number]]: unknown } & { commissionBps: number | null }

function view (deps: Deps, row: AccountRow | undefined): PayoutAccountView {
  const defaultBps = deps.config.payments.commissionBps
  if (!row) {
    return {
      status: 'not_started',
      accountId: null,
      chargesEnabled: false,
      payoutsEnabled: false,
      detailsSubmitted: false,
      requirementsDue: [],
      disabledReason: null,
      commissionBps: defaultBps,
      commissionSource: 'default',
      updatedAt: null
    }
  }
  return {
    status: row.status as PayoutStatus,
    accountId: row.stripeAccountId as string | null,
    chargesEnabled: row.chargesEnabled as boolean,
    payoutsEnabled: row.payoutsEnabled as boolean,
    detailsSubmitted: row.detailsSubmitted as boolean,
    requirementsDue: row.requirementsDue as string[],
    disabledReason: row.disabledReason as string | null,
    commissionBps: row.commissionBps ?? defaultBps,
    commissionSource: row.commissionBps === null ? 'default' : 'override',
    updatedAt: row.updatedAt as Date
  }
}

export async function payoutAccountView (deps: Deps, db: Queryable, workspaceId: string): Promise<PayoutAccountView> {
  const row = await db.selectFrom('payoutAccounts').select(COLUMNS).where('workspaceId', '=', workspaceId).executeTakeFirst()
  return view(deps, row)
}

/** Sets (or with null clears) a live workspace's override; 404 for no such workspace (a deletion waits for it). */
export async function setCommission (deps: Deps, adminId: string, workspaceId: string, commissionBps: number | null): Promise<PayoutAccountView> {
  const now = deps.clock.now()
  const row = await deps.db.transaction().execute(async (trx) => {
    await lockLiveWorkspace(trx, workspaceId)
    return trx.insertInto('payoutAccounts')
      .values({ workspaceId, commissionBps, commissionSetBy: adminId, createdAt: now, updatedAt: now })
      .onConflict((oc) => oc.column('workspaceId').doUpdateSet((eb) => ({
        commissionBps: eb.ref('excluded.commissionBps'),
        commissionSetBy: eb.ref('excluded.commissionSetBy'),
        updatedAt: eb.ref('excluded.updatedAt')
      })))
      .returning(COLUMNS)
      .executeTakeFirstOrThrow()
  })
  deps.log.info({ workspaceId, commissionBps, adminId }, 'workspace commission set')
  return view(deps, row)
}
