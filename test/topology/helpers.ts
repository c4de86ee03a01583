import { randomBytes } from 'node:crypto'
import { startTopology, type Topology, type TopologyOptions } from '../../scripts/lib/topology.ts'
import type { AppProcess } from '../../scripts/lib/topology-processes.ts'
import { createDatabase, type Db } from '../../src/platform/db.ts'
import { systemRandom } from '../../src/platform/clock.ts'
import { hashPassword } from '../../src/platform/passwords.ts'
import { createSealer } from '../../src/platform/crypto.ts'
import { outboxInsert } from '../../src/platform/outbox.ts'
import { sealEmail } from '../../src/platform/mail.ts'
import { welcomeEmail } from '../../src/modules/auth/emails.ts'
import { insertUser } from '../../src/modules/users/public.ts'

// What the multi-process tests share: a topology per test file (stopped in teardown), HTTP
// calls to its processes as a client or a load balancer makes them, and the database of the
// primary, read directly, to verify what the processes did.

export interface Tap { teardown: (fn: () => unknown) => void }

export interface TopologyEnv {
  topology: Topology
  /** Kysely on the primary, directly (not through PgBouncer): fixtures and verification. */
  db: Db
}

export async function topologyEnv (t: Tap, options: TopologyOptions = {}): Promise<TopologyEnv> {
  const topology = await startTopology(options)
  // The app's own database setup (camel-cased columns), on the primary itself.
  const database = createDatabase({ databaseUrl: topology.primaryUrl(), databasePoolMax: 4, databasePreparedStatements: false })
  const db = database.db
  t.teardown(async () => {
    await database.destroy()
    await topology.stop()
  })
  return { topology, db }
}

/** A client address of its own (X-Forwarded-For, believed from loopback as from a load balancer): per-IP limits start at zero. */
export const clientIp = () => `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`

export interface Answer { status: number, headers: Headers, body: any }

export async function call (api: AppProcess, method: string, path: string, options: { headers?: Record<string, string>, body?: unknown } = {}): Promise<Answer> {
  const res = await fetch(api.url + path, {
    method,
    headers: { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
    body: options.body === undefined ? undefined : JSON.stringify(options.body)
  })
  const text = await res.text()
  let body: unknown = text
  try { body = JSON.parse(text) } catch {}
  return { status: res.status, headers: res.headers, body }
}

export const PASSWORD = 'correct horse battery staple'

/** An active, verified customer written directly, as the seed does; sign-ins go through HTTP. */
export async function createCustomer (db: Db): Promise<{ id: string, email: string }> {
  const email = `customer-${randomBytes(4).toString('hex')}@topology.test`
  const user = await insertUser(db, {
    email, name: 'Topology Customer', type: 'customer', status: 'active', passwordHash: await hashPassword(PASSWORD), phone: null, verifiedAt: new Date()
  }, systemRandom)
  return { id: user.id, email }
}

export async function login (api: AppProcess, email: string, ip = clientIp()): Promise<{ token: string, sessionId: string, userId: string }> {
  const res = await call(api, 'POST', '/auth/login', { headers: { 'x-forwarded-for': ip }, body: { email, password: PASSWORD } })
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`)
  return { token: res.body.tokens.accessToken, sessionId: res.body.session.id, userId: res.body.user.id }
}

/**
 * `count` welcome emails to `<label>-<i>@bulk.topology.test`, written to the outbox as the app
 * writes its messages (sealed with the processes' key), in one transaction per 250.
 */
export async function outboxEmails (env: TopologyEnv, label: string, count: number): Promise<string[]> {
  const sealer = createSealer(env.topology.env.ENCRYPTION_KEY!)
  const recipients = Array.from({ length: count }, (_, i) => `${label}-${i}@bulk.topology.test`)
  for (let i = 0; i < count; i += 250) {
    const messages = recipients.slice(i, i + 250).map((to) => ({
      queue: 'email' as const,
      jobName: welcomeEmail.name,
      payload: sealEmail(sealer, welcomeEmail.name, { to, vars: { name: 'Bulk', appLink: 'http://localhost/' } })
    }))
    await outboxInsert(env.db, messages).execute()
  }
  return recipients
}

/** How many of `recipients` got 0, 1 and more messages so far. */
export function deliveries (env: TopologyEnv, recipients: string[]): { missing: number, once: number, duplicated: number } {
  const counts = env.topology.mail.countsByRecipient()
  const result = { missing: 0, once: 0, duplicated: 0 }
  for (const to of recipients) {
    const n = counts.get(to) ?? 0
    if (n === 0) result.missing++
    else if (n === 1) result.once++
    else result.duplicated++
  }
  return result
}

/** bazaar_jobs_total of one worker, by `queue/outcome`. */
export async function jobsRun (env: TopologyEnv, worker: AppProcess): Promise<Map<string, number>> {
  const res = await fetch(`${worker.url}/metrics`, { headers: { authorization: `Bearer ${env.topology.env.METRICS_TOKEN}` } })
  if (res.status !== 200) throw new Error(`${worker.name} metrics: ${res.status}`)
  const jobs = new Map<string, number>()
  for (const line of (await res.text()).split('\n')) {
    const m = /^bazaar_jobs_total\{(.*)\} (\d+(?:\.\d+)?)$/.exec(line)
    if (!m) continue
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]))
    jobs.set(`${labels.queue}/${labels.outcome}`, Number(m[2]))
  }
  return jobs
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
