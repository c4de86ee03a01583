import t from 'tap'
import { approvedStore } from '../../helpers/commerce.ts'
import { paymentEnv } from '../../helpers/payments.ts'
import { deliverConnect, payoutsOf, startOnboarding } from '../../helpers/payouts.ts'
import { applyAccountState, commissionFacts, lockPayoutReadiness } from '../../../src/modules/payouts/public.ts'
import type { ConnectAccountState } from '../../../src/platform/payment-connect.ts'
import { sql } from 'kysely'

// payouts/public.ts as other modules use it (the ledger's transfers, checkout's pricing):
// readiness under a share lock, the provider's state applied newest-first, the overrides subquery.

const enabled = (id: string): ConnectAccountState => ({
  id, chargesEnabled: true, payoutsEnabled: true, detailsSubmitted: true, transfersCapability: 'active', requirementsDue: [], pastDue: [], disabledReason: null
})
const restricted = (id: string): ConnectAccountState => ({
  ...enabled(id), chargesEnabled: false, payoutsEnabled: false, transfersCapability: 'inactive', requirementsDue: ['external_account'], pastDue: ['external_account'], disabledReason: 'requirements.past_due'
})

t.test('applyAccountState: the newest read wins; becameEnabled once; unknown accounts null', async (t) => {
  const { env } = await paymentEnv(t)
  const store = await approvedStore(env)
  const accountId = (await startOnboarding(env, store)).json().accountId
  const { deps } = env.app
  const t1 = new Date('2026-12-01T10:00:00Z')
  const t2 = new Date('2026-12-01T10:00:05Z')
  const apply = (state: ConnectAccountState, at: Date) => deps.db.transaction().execute((trx) => applyAccountState(trx, deps, state, at))

  t.same(await apply(enabled(accountId), t2), { workspaceId: store.workspaceId, becameEnabled: true })
  t.same(await apply(restricted(accountId), t1), { workspaceId: store.workspaceId, becameEnabled: false }, 'an older read is ignored')
  t.equal((await payoutsOf(env, store)).json().status, 'enabled')
  t.same(await apply(enabled(accountId), t2), { workspaceId: store.workspaceId, becameEnabled: false }, 'already enabled: not again')
  t.same(await apply(restricted(accountId), new Date(t2.getTime() + 1000)), { workspaceId: store.workspaceId, becameEnabled: false })
  t.equal((await payoutsOf(env, store)).json().status, 'restricted')
  t.same(await apply(enabled(accountId), new Date(t2.getTime() + 2000)), { workspaceId: store.workspaceId, becameEnabled: true }, 'enabled again after a restriction')
  t.equal(await apply(enabled('acct_not_ours'), t2), null)
})

t.test('lockPayoutReadiness: every workspace answered; an enabling account.updated waits for the lock holder', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const [store, other] = [await approvedStore(env), await approvedStore(env)]
  const accountId = (await startOnboarding(env, store)).json().accountId
  const { deps } = env.app

  const before = await deps.db.transaction().execute((trx) => lockPayoutReadiness(trx, [other.workspaceId, store.workspaceId]))
  t.same(Object.fromEntries(before), { [other.workspaceId]: { accountId: null, enabled: false }, [store.workspaceId]: { accountId, enabled: false } })
  t.same(await deps.db.transaction().execute((trx) => lockPayoutReadiness(trx, [])), new Map())

  // A payment being recorded holds the share lock: the enabling event waits for it to commit,
  // so the payment either sees the account enabled or its waiting transfer is released after.
  const event = stripe.completeOnboarding(accountId)
  let delivered: Awaited<ReturnType<typeof deliverConnect>> | undefined
  let pending: Promise<void> | undefined
  await deps.db.transaction().execute(async (trx) => {
    const ready = await lockPayoutReadiness(trx, [store.workspaceId])
    t.equal(ready.get(store.workspaceId)!.enabled, false)
    pending = deliverConnect(env, stripe, event).then((res) => { delivered = res })
    await new Promise((resolve) => setTimeout(resolve, 500))
    t.equal(delivered, undefined, 'the event is still waiting for the lock')
    t.equal((await trx.selectFrom('payoutAccounts').select('status').where('workspaceId', '=', store.workspaceId).executeTakeFirstOrThrow()).status, 'pending')
  })
  await pending
  t.equal(delivered!.statusCode, 200)
  const after = await deps.db.transaction().execute((trx) => lockPayoutReadiness(trx, [store.workspaceId]))
  t.same(after.get(store.workspaceId), { accountId, enabled: true })
})

t.test('commissionFacts: only overrides, only the workspaces asked for', async (t) => {
  const { env } = await paymentEnv(t)
  const [a, b, c] = [await approvedStore(env), await approvedStore(env), await approvedStore(env)]
  const now = new Date()
  await env.app.db.insertInto('payoutAccounts').values([
    { workspaceId: a.workspaceId, commissionBps: 1250, createdAt: now, updatedAt: now },
    { workspaceId: b.workspaceId, commissionBps: null, createdAt: now, updatedAt: now },
    { workspaceId: c.workspaceId, commissionBps: 0, createdAt: now, updatedAt: now }
  ]).execute()
  const ids = sql<readonly string[]>`${sql.val([a.workspaceId, b.workspaceId])}::uuid[]`
  const rows = await commissionFacts(env.app.db, ids).execute()
  t.same(rows, [{ workspaceId: a.workspaceId, commissionBps: 1250 }])
})
