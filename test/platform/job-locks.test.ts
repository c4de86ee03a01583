import t from 'tap'
import { createTestEnv, eventually } from '../helpers/app.ts'
import { createRedis, closeRedis, connectRedis } from '../../src/platform/redis.ts'
import { redisScripts } from '../../src/redis-scripts.ts'
import { createSessionCleanupProcessor } from '../../src/jobs/session-cleanup.ts'
import { createOrderExpiryProcessor } from '../../src/jobs/order-expiry.ts'
import type { Deps } from '../../src/platform/deps.ts'
import { createPaymentGateway } from '../../src/platform/payment-provider.ts'

// The periodic jobs run one at a time across workers by a lock in Redis. A worker that dies
// mid-run leaves its lock behind: it must lapse within seconds (BullMQ hands the job to another
// worker within seconds, issue 9 2b), not keep every later run from working for minutes.

const RECOVERY_LIMIT_MS = 15000

t.test('a lock left by a worker that died mid-run lapses within seconds, for every periodic job', async (t) => {
  const env = await createTestEnv(t)
  const processors = {
    'session-cleanup': (deps: Deps) => createSessionCleanupProcessor(deps),
    'order-expiry': (deps: Deps) => createOrderExpiryProcessor({ ...deps, gateway: createPaymentGateway(env.config) })
  }
  for (const [name, make] of Object.entries(processors)) {
    // The dying worker: its Redis connection is its own; its run hangs on the first command it
    // sends after taking the lock, and then the process is gone (no release, no renewal).
    const own = createRedis(env.config, 'api', redisScripts)
    await connectRedis(own)
    let taken = false
    const hanging = new Proxy(own, {
      get (target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver)
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          if (prop === 'set' && args[4] === 'NX') return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args).then((r) => { taken = r === 'OK'; return r })
          if (taken) return new Promise(() => {})
          return (value as (...a: unknown[]) => unknown).apply(target, args)
        }
      }
    })
    const dying = make({ ...env.app.deps, redis: hanging as never, clock: { now: () => new Date() } })
    dying().catch(() => {})
    await eventually(() => taken, 5000)
    const died = Date.now()
    own.disconnect()

    // A live worker's runs: skipped while the lock holds, then they work again.
    const live = make(env.app.deps)
    const result = await eventually(async () => {
      const r = await live() as { skipped?: true }
      return r.skipped ? null : r
    }, RECOVERY_LIMIT_MS, 250).catch((err: Error) => err)
    t.notOk(result instanceof Error, `${name}: a live worker runs again within ${RECOVERY_LIMIT_MS} ms of the holder dying (${Date.now() - died} ms)`)
    await closeRedis(own)
  }
})

t.test('a long run keeps its lock: a second worker does not overlap it', async (t) => {
  const env = await createTestEnv(t)
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  // The first run's sessions take long to finalise: its first bucket calls wait on the gate.
  const slowRedis = new Proxy(env.app.redis, {
    get (target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (prop === 'sessionsEndExpired') return async (...args: unknown[]) => { await gate; return (value as (...a: unknown[]) => unknown).apply(target, args) }
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
  const first = createSessionCleanupProcessor({ ...env.app.deps, redis: slowRedis as never })()
  await new Promise((resolve) => setTimeout(resolve, 200))
  const started = Date.now()
  while (Date.now() - started < 12000) {
    const other = await createSessionCleanupProcessor(env.app.deps)()
    t.ok(other.skipped, 'a second run is skipped while the first one works')
    if (!other.skipped) break
    await new Promise((resolve) => setTimeout(resolve, 3000))
  }
  release()
  t.notOk((await first).skipped, 'the first run completes')
  t.notOk((await createSessionCleanupProcessor(env.app.deps)()).skipped, 'and the next one runs')
})
