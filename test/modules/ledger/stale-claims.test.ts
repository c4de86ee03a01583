import t from 'tap'
import { eventually } from '../../helpers/eventually.ts'
import { expectedEarnings, ledgerSums, transfersOf } from '../../helpers/ledger.ts'
import { scene, signedDelivery } from '../../helpers/ledger-scene.ts'
import { deliverConnect } from '../../helpers/payouts.ts'

// Issue 14, review 2 finding 5: what a transfer job does after its provider call holds only for
// the claim that made the call. A stale job whose refusal arrives late (its key was refused,
// the row was released since and claimed again under a new key) leaves the newer claim alone,
// so the transfer that claim makes is recorded and no second one is ever sent.

t.test('a stale job\'s late refusal does not move a newer claim: one transfer, recorded, the vendor paid once', async (t) => {
  const s = await scene(t, { enableB: false })
  const { env, stripe, checkoutId, stores, accounts } = s
  const wsA = stores[0]!.workspaceId
  const rowA = async () => (await transfersOf(env, checkoutId)).find((r) => r.workspaceId === wsA)!
  stripe.restrictAccount(accounts[0]!)
  // Request 1 (job J1, key K0) and request 3 (job J3, key K1) have their answers held.
  let n = 0
  const isTransfer = (method: string, path: string) => method === 'POST' && path === '/v1/transfers'
  const first = stripe.holdResponses((method, path) => isTransfer(method, path) && ++n === 1)
  const third = stripe.holdResponses((method, path) => isTransfer(method, path) && n === 3)
  await signedDelivery(s, stripe.pay(s.intentId))
  await eventually(() => first.held() === 1 ? true : null, 20000)
  // J2, a duplicate job, claims again under K0: Stripe replays the refusal, the row waits (key K1 next).
  await env.app.deps.queues.payouts.add('transfer', { transferId: (await rowA()).id }, { jobId: 'duplicate-1' })
  await eventually(async () => (await rowA()).status === 'waiting' ? true : null, 20000)
  t.equal((await rowA()).refusals, 1)
  // Stripe enables the account: the row is released and J3 claims it under K1; its success is held.
  t.equal((await deliverConnect(env, stripe, stripe.completeOnboarding(accounts[0]!))).statusCode, 200)
  await eventually(() => third.held() === 1 ? true : null, 20000)
  const inFlight = await rowA()
  t.match(inFlight, { status: 'in_flight', refusals: 1 })
  // J1's refusal for K0 arrives now: it must not touch J3's claim.
  first.release()
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.match(await rowA(), { status: 'in_flight', refusals: 1, attempts: inFlight.attempts }, 'the stale refusal left the newer claim alone')
  third.release()
  const paid = await eventually(async () => { const r = await rowA(); return r.status === 'paid' ? r : null }, 20000)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const made = [...stripe.transfers.values()].filter((x) => x.destination === accounts[0]!)
  t.equal(made.length, 1, 'one transfer at Stripe')
  t.equal(paid.stripeTransferId, made[0]!.id, 'and it is the one recorded')
  const expected = await expectedEarnings(env, wsA)
  t.equal(stripe.transfersTo(accounts[0]!), expected)
  t.same(await ledgerSums(env, wsA), { pending: 0, paidOut: expected, platform: 0, total: expected })
})
