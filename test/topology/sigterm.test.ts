import t from 'tap'
import { createCustomer, deliveries, login, outboxEmails, sleep, topologyEnv } from './helpers.ts'
import { startLoad } from './load-balancer.ts'

// A rolling restart under load: new copies start, then every original API and worker gets
// SIGTERM at once while a load balancer keeps sending. Draining APIs answer 503 on readiness
// first (the balancer moves away), then finish what they hold; workers finish their jobs or
// hand them back. Nothing a client sent is dropped, and no email is lost or sent twice.

// One client sending thousands of requests a minute: the rate limits are not what this measures.
const env = await topologyEnv(t, { env: { RATE_LIMIT_MAX: '10000000' } })
const { topology } = env

t.test('SIGTERM to every process under load drops no request and no job', async (t) => {
  const customer = await createCustomer(env.db)
  const session = await login(topology.apis[0]!, customer.email)
  const originals = [...topology.apis, ...topology.workers]

  // Catalog reads (replica, cache) and signed-in reads (session in the Redis Cluster), alternating.
  const load = startLoad(topology.apis, (i) => i % 2 === 0
    ? { path: '/products?limit=5' }
    : { path: '/auth/me', headers: { authorization: `Bearer ${session.token}` } })
  await sleep(2000)
  const [api3, worker3] = await Promise.all([topology.start('api'), topology.start('worker')])
  load.add(api3)
  // Mail for the workers to be in the middle of when the signal comes.
  const recipients = await outboxEmails(env, 'rolling', 600)
  await topology.mail.waitForCount(50)
  const sentAt = Date.now()
  const deliveredAtSignal = topology.mail.messages.length
  for (const proc of originals) proc.signal('SIGTERM')
  const exits = await Promise.all(originals.map((p) => p.exited))
  const stoppedInMs = Date.now() - sentAt
  await sleep(1000)
  const result = await load.stop()

  const total = [...result.statuses.values()].reduce((a, b) => a + b, 0)
  t.comment(`${total} answers (${JSON.stringify(Object.fromEntries(result.servedBy))}), ${result.retried} refused connections retried, all four stopped in ${stoppedInMs} ms`)
  t.same(exits, [0, 0, 0, 0], 'every original process exited cleanly')
  t.same(result.broken, [], 'no request was reset or cut short')
  t.equal(result.unplaced, 0, 'every request found an API')
  t.same([...result.statuses.keys()], [200], 'every answer was a 200: no 5xx, no 401 for a live session')
  t.ok(total > 200, `under real load (${total} requests)`)
  t.ok((result.servedBy.get('api-3') ?? 0) > 0 && (result.servedBy.get('api-1') ?? 0) > 0 && (result.servedBy.get('api-2') ?? 0) > 0, 'all three APIs served')

  // The workers stopped mid-batch: what they had not finished is left for the new one.
  t.ok(deliveredAtSignal < 600, `the workers were mid-batch: ${deliveredAtSignal} of 600 sent at the signal`)
  await topology.mail.waitForCount(600, 120_000)
  await sleep(3000)
  t.same(deliveries(env, recipients), { missing: 0, once: 600, duplicated: 0 }, 'every email once')
  t.ok(worker3.alive() && api3.alive(), 'the new copies live on')
})
