import t from 'tap'
import { loadConfig } from '../../src/config.ts'
import { closeQueues, createQueues, type QueueName } from '../../src/platform/queues.ts'
import { closeRedis, connectRedis, createRedis } from '../../src/platform/redis.ts'
import { jobsRun, sleep, topologyEnv } from './helpers.ts'

// Periodic work with two worker processes: both upsert the same job schedulers at start, and
// each scheduler still makes one job per interval (not one per worker), taken by one of them.
// Observed through the workers' own metrics (jobs completed per queue) and BullMQ's schedulers.

const env = await topologyEnv(t, { apis: 0 })
const { workers } = env.topology
const config = loadConfig(env.topology.env)
const connection = createRedis(config, 'queue-producer')
await connectRedis(connection, 30_000)
const queues = createQueues(connection, config.queuePrefix)
t.teardown(async () => {
  await closeQueues(queues)
  await closeRedis(connection)
})

const PERIODIC: Array<{ queue: QueueName, id: string, every: number }> = [
  { queue: 'outbox', id: 'outbox-relay', every: 1000 },
  { queue: 'session-cleanup', id: 'session-cleanup', every: 60_000 },
  { queue: 'order-expiry', id: 'order-expiry', every: 60_000 }
]

async function completed (): Promise<Record<string, number>> {
  const perWorker = await Promise.all(workers.map((w) => jobsRun(env, w)))
  return Object.fromEntries(PERIODIC.map(({ queue }) => [queue, perWorker.reduce((sum, jobs) => sum + (jobs.get(`${queue}/completed`) ?? 0), 0)]))
}

t.test('each scheduled job runs once per interval with two workers', async (t) => {
  const schedulers = await Promise.all(PERIODIC.map(({ queue }) => queues[queue].getJobSchedulers()))
  for (const [i, { id, every }] of PERIODIC.entries()) {
    t.same(schedulers[i]!.map((s) => [s.key, Number(s.every)]), [[id, every]], `one ${id} scheduler, though both workers upserted it`)
  }
  // The window runs from now until just past the next run of the minute-long schedulers: each
  // of those then runs exactly once in it, and the relay once a second.
  const nextMinutely = Math.max(...schedulers.slice(1).map((s) => Number(s[0]!.next)))
  const before = await completed()
  const start = Date.now()
  await sleep(Math.max(0, nextMinutely - Date.now()) + 3000)
  // A run started in the window may still be finishing: let it.
  await sleep(500)
  const after = await completed()
  const seconds = (Date.now() - start) / 1000
  const runs = Object.fromEntries(PERIODIC.map(({ queue }) => [queue, after[queue]! - before[queue]!]))
  t.comment(`in ${seconds.toFixed(1)} s: ${JSON.stringify(runs)}`)
  t.equal(runs['session-cleanup'], 1, 'session-cleanup ran once in its minute')
  t.equal(runs['order-expiry'], 1, 'order-expiry ran once in its minute')
  // Two workers each making their own relay jobs would double this.
  t.ok(runs.outbox! >= Math.floor(seconds) - 2 && runs.outbox! <= Math.ceil(seconds) + 1, `the outbox relay ran once a second: ${runs.outbox} runs in ${seconds.toFixed(1)} s`)
  const perWorker = await Promise.all(workers.map((w) => jobsRun(env, w)))
  t.same(perWorker.map((jobs) => PERIODIC.reduce((n, { queue }) => n + (jobs.get(`${queue}/failed`) ?? 0), 0)), [0, 0], 'no periodic run failed')
})
