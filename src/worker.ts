import { fileURLToPath } from 'node:url'
import { Worker, type Processor } from 'bullmq'
import closeWithGrace from 'close-with-grace'
import type { Logger } from 'pino'
import { loadConfigOrExit, type Config } from './config.ts'
import { createLogger } from './platform/logger.ts'
import { activeTracing, startTracing, stopTracing } from './platform/tracing.ts'
import { closeRedis, createRedis } from './platform/redis.ts'
import type { QueueName } from './platform/queues.ts'
import { createMailer, templateRegistry, type EmailTemplate } from './platform/mail.ts'
import type { Clock } from './platform/clock.ts'
import { connectDeps } from './platform/deps.ts'
import { Metrics } from './platform/metrics.ts'
import { serveWorkerMetrics } from './platform/worker-metrics.ts'
import { authEmails } from './modules/auth/public.ts'
import { sessionEmails } from './modules/sessions/public.ts'
import { userEmails } from './modules/users/public.ts'
import { workspaceEmails } from './modules/workspaces/public.ts'
import { vendorProfileEmails } from './modules/vendor-profiles/public.ts'
import { orderCounters, orderEmails } from './modules/orders/public.ts'
import { redisScripts } from './redis-scripts.ts'
import { createEmailProcessor, emailOutcomes } from './jobs/email.ts'
import { createOutboxProcessor } from './jobs/outbox.ts'
import { createSmsProcessor } from './jobs/sms.ts'
import { createSmsSender } from './platform/sms.ts'
import { createFilesProcessor } from './jobs/files.ts'
import { createSessionCleanupProcessor } from './jobs/session-cleanup.ts'
import { createOrderExpiryProcessor } from './jobs/order-expiry.ts'
import { createPaymentGateway } from './platform/payment-provider.ts'
import { createConnectGateway } from './platform/payment-connect.ts'
import { createPayoutsProcessor } from './jobs/payouts.ts'
import { ledgerCounters } from './modules/ledger/public.ts'

// The worker process: one BullMQ Worker per queue, plus the job schedulers for periodic work.
// Any number of copies can run; each job is safe to run twice.

/** Every email the system sends: each domain defines its own; only the worker knows them all. */
export const emailTemplates = templateRegistry(
  ...Object.values(authEmails), ...Object.values(sessionEmails), ...Object.values(userEmails),
  ...Object.values(workspaceEmails), ...Object.values(vendorProfileEmails), ...Object.values(orderEmails)
)

export interface WorkerOptions {
  clock?: Clock
  logger?: Logger
  templates?: Record<string, EmailTemplate<any>>
  /** Queues this worker consumes (default: all). */
  queues?: QueueName[]
}

export interface RunningWorker {
  close: () => Promise<void>
  /** Where GET /metrics listens (WORKER_METRICS_PORT; 0 picks a free port), when it does. */
  metricsPort?: number
}

const CONCURRENCY: Record<QueueName, number> = {
  email: 8,
  sms: 8,
  'session-cleanup': 1,
  'order-expiry': 1,
  outbox: 1,
  files: 4,
  // Vendor transfers and reversals: at most 4 provider calls at a time per worker.
  payouts: 4
}

/**
 * A crashed worker's jobs resume in seconds: its locks (renewed every lockDuration / 2 while a
 * job runs) expire within lockDuration, and live workers look for such jobs every
 * stalledInterval, so a job interrupted by a crash runs again within about 5-9 s (BullMQ's
 * defaults took a minute or more). Two crashes in a row still retry the job; a third fails it
 * (a job that kills every worker it runs on must stop somewhere).
 */
const STALLED_JOBS = { lockDuration: 5000, stalledInterval: 2000, maxStalledCount: 2 }

export async function startWorker (config: Config, options: WorkerOptions = {}): Promise<RunningWorker> {
  const log = options.logger ?? createLogger(config, 'worker')
  // Counted here: emails, payments the order-expiry job finds made (reconciliation), and vendor transfers and reversals.
  const metrics = new Metrics([...Object.values(orderCounters), ...Object.values(ledgerCounters), emailOutcomes])
  const { deps, producer, pool, close } = await connectDeps(config, { log, scripts: redisScripts, clock: options.clock, metrics })
  const { db, queues, sealer, storage } = deps
  const mailer = createMailer(config, log)

  const processors: Partial<Record<QueueName, Processor>> = {
    email: createEmailProcessor({ sealer, mailer, templates: options.templates ?? emailTemplates, redis: deps.redis, log, metrics }),
    sms: createSmsProcessor({ sealer, sender: createSmsSender(config, log), redis: deps.redis, log }),
    outbox: createOutboxProcessor({ db, queues }),
    files: createFilesProcessor({ storage }),
    'session-cleanup': createSessionCleanupProcessor(deps),
    'order-expiry': createOrderExpiryProcessor({ ...deps, gateway: createPaymentGateway(config) }),
    payouts: createPayoutsProcessor({ ...deps, connect: createConnectGateway(config) })
  }

  const consumed = (options.queues ?? Object.keys(processors) as QueueName[]).filter((q) => processors[q])
  const workerConnections = consumed.map(() => createRedis(config, 'worker'))
  // Traced, each job's processing is a span, in the trace of the request that queued it.
  const telemetry = activeTracing()?.bullmq
  const workers = consumed.map((name, i) => {
    const worker = new Worker(name, processors[name]!, {
      connection: workerConnections[i]!,
      prefix: config.queuePrefix,
      concurrency: CONCURRENCY[name],
      // After a Redis outage, resume within seconds rather than BullMQ's default 15 s.
      runRetryDelay: 2000,
      ...STALLED_JOBS,
      ...(telemetry ? { telemetry } : {})
    })
    worker.on('failed', (job, err) => log.warn({ queue: name, jobId: job?.id, attemptsMade: job?.attemptsMade, err: err.message }, 'job failed'))
    worker.on('error', (err) => log.error({ queue: name, err: err.message }, 'worker error'))
    return worker
  })

  await Promise.all(workers.map((w) => w.waitUntilReady()))

  // Schedulers are upserted by every worker copy (BullMQ keeps one per id), and again after
  // each reconnect: a Redis that lost its data must not leave periodic work unscheduled.
  const upsertSchedulers = async (): Promise<void> => {
    const periodic = { removeOnComplete: true, removeOnFail: 100 }
    if (consumed.includes('outbox')) {
      await queues.outbox.upsertJobScheduler('outbox-relay', { every: config.outboxIntervalMs }, { name: 'relay', data: {}, opts: periodic })
    }
    if (consumed.includes('session-cleanup')) {
      await queues['session-cleanup'].upsertJobScheduler('session-cleanup', { every: 60_000 }, { name: 'cleanup', data: {}, opts: periodic })
    }
    if (consumed.includes('order-expiry')) {
      await queues['order-expiry'].upsertJobScheduler('order-expiry', { every: 60_000 }, { name: 'expire', data: {}, opts: periodic })
    }
    if (consumed.includes('payouts')) {
      await queues.payouts.upsertJobScheduler('payouts-sweep', { every: 60_000 }, { name: 'sweep', data: {}, opts: periodic })
    }
  }
  await upsertSchedulers()
  producer.on('ready', () => {
    upsertSchedulers().catch((err: Error) => log.warn({ err: err.message }, 'could not upsert job schedulers'))
  })

  const metricsServer = config.workerMetricsPort === undefined
    ? undefined
    : await serveWorkerMetrics(metrics, config, config.workerMetricsPort, {
      workers: consumed.map((queue, i) => ({ queue, worker: workers[i]! })), pool, queues, redis: { api: deps.redis, worker: producer }
    }).catch(async (err: Error) => {
      // The port is taken (another copy on this host): let the jobs already taken finish before
      // the process ends, rather than leaving them to stall.
      await Promise.all(workers.map((w) => w.close()))
      throw err
    })
  log.info({ queues: consumed, metricsPort: metricsServer?.port }, 'worker started')

  return {
    metricsPort: metricsServer?.port,
    async close () {
      // Running jobs finish first; then connections close. With Redis unreachable no job can
      // be recorded as finished and a graceful close would wait for it forever: close at once
      // (the jobs stall and run again elsewhere, as after a crash).
      const redisDown = [producer, ...workerConnections].some((c) => c.status !== 'ready')
      await Promise.all(workers.map((w) => w.close(redisDown)))
      mailer.close()
      await metricsServer?.close()
      await close()
      await Promise.all(workerConnections.map(closeRedis))
      log.info('worker stopped')
    }
  }
}

async function main (): Promise<void> {
  const config = loadConfigOrExit()
  // Before any connection opens: what opens one asks whether to trace it.
  await startTracing(config, 'worker')
  const worker = await startWorker(config)
  // A promise one job left unhandled is logged; the other jobs keep running.
  process.on('unhandledRejection', (err) => process.stderr.write(`worker: unhandled rejection: ${(err as Error)?.message ?? String(err)}\n`))
  // SIGTERM is ours: a supervisor may repeat it, and a repeat must not abandon the running jobs
  // (close-with-grace exits at once on a second signal). A second Ctrl-C still forces the exit.
  let closing = false
  let terminated = false
  const grace = closeWithGrace({ delay: 30000, skip: ['unhandledRejection', 'SIGTERM'] }, async ({ signal, err }) => {
    closing = true
    const received = signal ?? (terminated ? 'SIGTERM' : undefined)
    if (err) process.stderr.write(`worker error: ${err.message}\n`)
    else if (received) process.stdout.write(`worker: ${received} received, finishing running jobs\n`)
    await worker.close()
    await stopTracing()
  })
  process.on('SIGTERM', () => {
    if (closing) return
    terminated = true
    grace.close()
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
