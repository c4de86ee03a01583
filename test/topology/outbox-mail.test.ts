import t from 'tap'
import { sql } from 'kysely'
import { deliveries, outboxEmails, sleep, topologyEnv } from './helpers.ts'

// Emails written to the outbox (as the app writes them, in a transaction with the change that
// caused them) reach the SMTP server exactly once each, with two workers relaying and sending,
// and still when one of them is killed with SIGKILL in the middle of its sends.

const env = await topologyEnv(t, { apis: 0 })
const { mail } = env.topology

/** Outbox rows of this run not yet relayed to the queue. */
async function unrelayed (): Promise<number> {
  const row = await env.db.selectFrom('outbox').select(sql<number>`count(*)::int`.as('n')).where('relayedAt', 'is', null).executeTakeFirstOrThrow()
  return row.n
}

t.test('1,000 outbox emails arrive exactly once each', async (t) => {
  const started = Date.now()
  const recipients = await outboxEmails(env, 'bulk', 1000)
  await mail.waitForCount(1000)
  t.comment(`1,000 emails relayed and sent by 2 workers in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  // Room for a duplicate to show up, had any job run twice.
  await sleep(3000)
  t.same(deliveries(env, recipients), { missing: 0, once: 1000, duplicated: 0 })
  t.equal(mail.messages.length, 1000, 'nothing else was sent')
  t.equal(new Set(mail.messages.map((m) => m.subject)).size, 1, 'all of them the welcome email')
  t.equal(await unrelayed(), 0, 'every outbox row is marked relayed')
})

t.test('a worker killed with SIGKILL mid-batch loses no email and duplicates none', async (t) => {
  const [victim, survivor] = env.topology.workers as [typeof env.topology.workers[0], typeof env.topology.workers[0]]
  const before = mail.messages.length
  const recipients = await outboxEmails(env, 'crash', 1000)
  await mail.waitForCount(before + 250)
  // From here no send is acknowledged: every send both workers have open waits mid-DATA. Sends
  // acknowledged before have a second to record that they went out (the marker a retried job
  // checks); then the victim dies with its sends in flight.
  mail.hold()
  await sleep(1000)
  const heldAtKill = mail.held()
  victim.signal('SIGKILL')
  t.equal(await victim.exited, 'SIGKILL', 'the victim died by SIGKILL')
  await sleep(300)
  const { delivered, dropped } = mail.release()
  t.ok(heldAtKill > 0, `${heldAtKill} sends were in flight at the kill`)
  t.ok(dropped > 0, `${dropped} sends died with the victim (never acknowledged), ${delivered} of the survivor went through`)
  t.ok(mail.messages.length - before < 1000, `the kill came mid-batch: ${mail.messages.length - before} of 1,000 delivered by then`)

  // Its jobs stall (their locks lapse in 5 s) and the survivor runs them; a replacement starts, as a supervisor would start one.
  const replacement = await env.topology.start('worker')
  await mail.waitForCount(before + 1000, 120_000)
  await sleep(8000)
  t.same(deliveries(env, recipients), { missing: 0, once: 1000, duplicated: 0 }, 'every one delivered, none twice')
  t.equal(mail.messages.length, before + 1000, 'nothing else was sent')
  t.equal(await unrelayed(), 0, 'every outbox row is marked relayed')
  t.ok(survivor.alive() && replacement.alive(), 'the other workers live on')
})
