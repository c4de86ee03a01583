import t from 'tap'
import { createTestEnv, eventually, type TestEnv } from '../helpers/app.ts'
import { uniqueEmail } from '../helpers/auth.ts'
import { valueOf } from '../helpers/metrics.ts'
import { sealEmail } from '../../src/platform/mail.ts'

// Issue 12, item 5: the worker serves its own GET /metrics on WORKER_METRICS_PORT, behind the
// API's token: jobs per queue and outcome with their durations, the emails sent and failed,
// the queues' depths, its pool and Redis connections.

const TOKEN = 'metrics-token-of-the-tests-4567'

/** `null`: no Authorization header. */
async function scrapeWorker (env: TestEnv, authorization: string | null = `Bearer ${TOKEN}`): Promise<Response> {
  return fetch(`http://${env.config.host}:${env.worker!.metricsPort}/metrics`, { headers: authorization === null ? {} : { authorization } })
}

const text = async (env: TestEnv) => {
  const res = await scrapeWorker(env)
  if (res.status !== 200) throw new Error(`worker scrape refused: ${res.status}`)
  return res.text()
}

t.test('the worker\'s /metrics: only for the token; emails sent and failed, jobs by queue and outcome, depths, pool, Redis', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: { queues: ['email'] }, config: { metricsToken: TOKEN, workerMetricsPort: 0 } })
  t.ok(env.worker!.metricsPort! > 0, `listening on a port of its own (${env.worker!.metricsPort})`)

  for (const authorization of [null, `Bearer not-${TOKEN}`]) {
    const res = await scrapeWorker(env, authorization)
    t.equal(res.status, 401, `refused: ${authorization ?? 'no header'}`)
    t.equal(res.headers.get('www-authenticate'), 'Bearer realm="metrics"')
    t.equal(res.headers.get('content-type'), 'application/problem+json')
    t.equal(((await res.json()) as { code: string }).code, 'UNAUTHORIZED')
  }
  const elsewhere = await fetch(`http://${env.config.host}:${env.worker!.metricsPort}/health`, { headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(elsewhere.status, 404, 'nothing else is served there')
  await elsewhere.body?.cancel()

  const first = await text(env)
  t.equal(valueOf(first, 'bazaar_jobs_total', { queue: 'email', outcome: 'completed' }), 0, 'jobs start at 0')
  t.equal(valueOf(first, 'bazaar_redis_up', { connection: 'worker' }), 1)
  t.equal(valueOf(first, 'bazaar_pg_pool_max_connections'), env.config.databasePoolMax)
  t.ok(valueOf(first, 'nodejs_eventloop_lag_seconds') !== undefined, 'the process\'s figures')
  t.ok(valueOf(first, 'bazaar_queue_jobs', { queue: 'email', state: 'waiting' }) !== undefined, 'queue depths')

  // A sign-up's code email, through the API, the queue and the worker to the SMTP server.
  const email = uniqueEmail('metrics')
  const signup = await env.app.inject({ method: 'POST', url: '/auth/signup', payload: { email, name: 'Metric Mo', password: 'metric password 1' } })
  t.equal(signup.statusCode, 202, signup.body)
  await env.smtp!.waitFor((m) => m.to.includes(email))
  const sent = await eventually(async () => {
    const body = await text(env)
    return valueOf(body, 'bazaar_jobs_total', { queue: 'email', outcome: 'completed' }) === 1 ? body : null
  })
  t.equal(valueOf(sent, 'bazaar_emails_total', { template: 'signup-code', outcome: 'sent' }), 1, 'the sign-up mail is counted as sent')
  t.equal(valueOf(sent, 'bazaar_job_duration_seconds_count', { queue: 'email', outcome: 'completed' }), 1, 'and its job timed')

  // A refused recipient: the send fails, the job fails (a dead mailbox is not retried).
  const refused = uniqueEmail('refused')
  env.smtp!.reject(refused)
  await env.app.queues.email.add('signin-code', sealEmail(env.app.sealer, 'signin-code', { to: refused, vars: { code: '121212', minutes: 10 } }))
  const failed = await eventually(async () => {
    const body = await text(env)
    return valueOf(body, 'bazaar_jobs_total', { queue: 'email', outcome: 'failed' }) === 1 ? body : null
  }, 15000)
  t.equal(valueOf(failed, 'bazaar_emails_total', { template: 'signin-code', outcome: 'failed' }), 1, 'the failed send is counted')
  t.equal(valueOf(failed, 'bazaar_queue_jobs', { queue: 'email', state: 'failed' }), 1, 'and the failed job is in the depth')
  t.equal(valueOf(failed, 'bazaar_emails_total', { template: 'signup-code', outcome: 'sent' }), 1)
})

t.test('without WORKER_METRICS_PORT the worker listens on no port', async (t) => {
  const env = await createTestEnv(t, { worker: { queues: ['files'] }, config: { metricsToken: TOKEN } })
  t.equal(env.worker!.metricsPort, undefined)
})
