import { createServer, request, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import t from 'tap'
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { sql } from 'kysely'
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node'
import { buildApp } from '../../src/app.ts'
import type { Config } from '../../src/config.ts'
import { createLogger } from '../../src/platform/logger.ts'
import { activeTracing, startTracing, stopTracing, type Tracing } from '../../src/platform/tracing.ts'
import { createTestEnv, eventually, type Tap, type TestEnv } from '../helpers/app.ts'
import { createUser, PASSWORD } from '../helpers/auth.ts'
import { tenancy } from '../helpers/tenancy.ts'

// Tracing is process-wide (OpenTelemetry's API is global): each test starts it, or not, before
// it builds the app and the worker, and stops it after they close (teardowns run last first).

type LogLine = Record<string, unknown>

function logSink (): { lines: LogLine[], stream: Writable } {
  const lines: LogLine[] = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line) as LogLine)
      done()
    }
  })
  return { lines, stream }
}

/** The real app and worker, logging at info to `logs`, with tracing as the test started it. */
async function appAndWorker (t: Tap, logs: Writable): Promise<TestEnv> {
  const env = await createTestEnv(t, { smtp: true, api: false })
  // createTestEnv's teardown closes env.app.
  env.app = await buildApp(env.config, { logger: createLogger({ logLevel: 'info' }, 'api', logs) })
  await env.app.ready()
  await env.startWorker({ logger: createLogger({ logLevel: 'info' }, 'worker', logs) })
  return env
}

/** A workspace admin invites someone: the request writes an outbox row; the worker relays it and sends the email. */
async function invite (env: TestEnv) {
  const world = await tenancy(env)
  const invitee = await createUser(env)
  const res = await env.app.inject({ method: 'POST', url: `/workspaces/${world.workspaceId}/invitations`, headers: world.users.admin.session.headers, payload: { email: invitee.email, role: 'member' } })
  await env.smtp!.waitFor((m) => m.to.includes(invitee.email))
  const row = await env.app.db.selectFrom('outbox').select(['id', 'traceparent']).where('jobName', '=', 'workspace-invitation').executeTakeFirstOrThrow()
  const job = await env.app.queues.email.getJob(`outbox-${row.id}`)
  return { world, res, row, job }
}

/** Whether a span descends from another, among `spans`. */
function descendsWithin (spans: ReadableSpan[]): (span: ReadableSpan, ancestor: ReadableSpan) => boolean {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]))
  const parentOf = (s: ReadableSpan) => s.parentSpanContext && byId.get(s.parentSpanContext.spanId)
  return (span, ancestor) => {
    for (let at = parentOf(span); at; at = parentOf(at)) if (at === ancestor) return true
    return false
  }
}

const tracingSettings = (overrides: Partial<Config['tracing']> = {}): Pick<Config, 'tracing'> =>
  ({ tracing: { endpoint: undefined, headers: undefined, serviceName: undefined, sampleRatio: 1, ...overrides } })

t.test('with tracing off nothing is loaded or recorded, and logs carry no trace id', async (t) => {
  t.equal(await startTracing(tracingSettings(), 'api'), undefined, 'no endpoint: not started')
  t.equal(activeTracing(), undefined)
  const logs = logSink()
  const env = await appAndWorker(t, logs.stream)
  t.notOk(env.app.hasPlugin('tracing'), 'no HTTP instrumentation is registered')
  t.notOk(trace.getTracer('probe').startSpan('probe').isRecording(), 'no tracer provider: no span can be recorded')

  const { res, row, job } = await invite(env)
  t.equal(res.statusCode, 201)
  t.equal(row.traceparent, null, 'the outbox row keeps no trace context')
  t.equal(job?.opts.telemetry, undefined, 'nor does the job it became')
  t.ok(logs.lines.some((l) => l.msg === 'request completed'), 'the request was logged')
  t.ok(logs.lines.some((l) => l.msg === 'email sent'), 'and the job')
  t.notOk(logs.lines.some((l) => 'traceId' in l || 'spanId' in l), 'no line names a trace')
})

t.test('a request, the outbox row it writes, the relay and the job make one trace; its log lines name it', async (t) => {
  t.teardown(stopTracing)
  const exporter = new InMemorySpanExporter()
  const tracing = (await startTracing(tracingSettings(), 'api', { exporter }))!
  const logs = logSink()
  const env = await appAndWorker(t, logs.stream)
  t.ok(env.app.hasPlugin('tracing'))

  const { world, res, row, job } = await invite(env)
  t.equal(res.statusCode, 201)
  const requestId = res.headers['x-request-id']
  const isRequest = (s: ReadableSpan) => s.kind === SpanKind.SERVER && s.attributes['http.request.id'] === requestId
  const spans = async (): Promise<ReadableSpan[]> => {
    await tracing.flush()
    return exporter.getFinishedSpans()
  }
  const server = await eventually(async () => (await spans()).find(isRequest))
  const traceId = server.spanContext().traceId
  t.equal(server.name, 'POST /workspaces/:id/invitations', 'the HTTP span is named by its route')
  t.equal(server.attributes['http.response.status_code'], 201)

  // A query never reaches a span: it can carry an email, a reset token or a sign-up code (an email
  // link clicked while APP_URL is the API itself lands here as a 404).
  const probe = await env.app.inject({ method: 'GET', url: '/reset-password?token=tok-secret-123&email=leak%40example.test' })
  t.equal(probe.statusCode, 404)
  const probeSpan = await eventually(async () => (await spans()).find((s) => s.kind === SpanKind.SERVER && s.attributes['http.request.id'] === probe.headers['x-request-id']))
  t.equal(probeSpan.attributes['url.path'], '/reset-password', 'the path only')
  t.notOk(JSON.stringify((await spans()).map((s) => s.attributes)).includes('tok-secret-123'), 'no span carries a query value')

  const inTrace: ReadableSpan[] = await eventually(async () => {
    const all = (await spans()).filter((s) => s.spanContext().traceId === traceId)
    return all.some((s) => s.name === 'process email') ? all : undefined
  })
  const pg = inTrace.filter((s) => s.attributes['db.system.name'] === 'postgresql')
  t.ok(pg.length > 0, 'Postgres statements are spans of the request')
  t.ok(pg.every((s) => s.kind === SpanKind.CLIENT && typeof s.attributes['db.query.text'] === 'string'))
  t.ok(pg.some((s) => /^insert into "outbox"/.test(String(s.attributes['db.query.text']))), 'the outbox insert among them')
  t.notOk(pg.some((s) => String(s.attributes['db.query.text']).includes('@example.test')), 'statements carry placeholders, not values')
  const redis = inTrace.filter((s) => s.attributes['db.system.name'] === 'redis')
  t.ok(redis.length > 0, 'Redis commands are spans of the trace')
  const processing = inTrace.find((s) => s.name === 'process email')!
  t.equal(processing.kind, SpanKind.CONSUMER, 'the job is processed in the request\'s trace')
  t.equal(processing.attributes['bullmq.job.id'], `outbox-${row.id}`)
  t.match(row.traceparent, new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`), 'the outbox row keeps the request\'s trace context')
  t.ok(job?.opts.telemetry?.metadata, 'and the relay hands it to the job')
  const within = descendsWithin(inTrace)
  t.ok(within(processing, server), 'under the request\'s span')
  t.ok(redis.some((s) => within(s, processing)), 'the job\'s own Redis commands are spans under its processing')
  t.ok(pg.some((s) => within(s, server)), 'the request\'s statements under its span')
  t.ok(redis.some((s) => within(s, server)), 'and its Redis commands')

  const requestLine = logs.lines.find((l) => l.msg === 'request completed' && l.requestId === requestId)
  t.equal(requestLine?.traceId, traceId, 'the request\'s log line names its trace')
  t.match(requestLine?.spanId, /^[0-9a-f]{16}$/)
  const jobLine = logs.lines.find((l) => l.msg === 'email sent' && l.jobId === `outbox-${row.id}`)
  t.equal(jobLine?.traceId, traceId, 'so does the job\'s')

  // Concurrent requests' Redis commands go out in shared auto-pipelined writes, yet each command
  // is a span of the request that issued it.
  const burst = await Promise.all(Array.from({ length: 8 }, () => env.app.inject({ method: 'GET', url: '/products?limit=1' })))
  const burstIds = new Set(burst.map((r) => r.headers['x-request-id']))
  const burstServers: ReadableSpan[] = await eventually(async () => {
    const found = (await spans()).filter((s) => s.kind === SpanKind.SERVER && burstIds.has(String(s.attributes['http.request.id'])))
    return found.length === burstIds.size ? found : undefined
  })
  const burstSpans = (await spans()).filter((s) => burstServers.some((b) => b.spanContext().traceId === s.spanContext().traceId))
  const burstWithin = descendsWithin(burstSpans)
  t.same(burstServers.map((b) => burstSpans.filter((s) => s.attributes['db.system.name'] === 'redis' && burstWithin(s, b)).length), burstServers.map(() => 1),
    'one rate-limit command under each of eight concurrent requests')

  // Over a socket, a body that arrives after the headers is read in the socket's callbacks,
  // outside the request's span: the handler, its statements and its log line are still in it.
  await env.app.listen({ host: '127.0.0.1', port: 0 })
  const body = JSON.stringify({ email: world.users.member.email, password: PASSWORD })
  const slow = await new Promise<{ status: number | undefined, requestId: string }>((resolve, reject) => {
    const req = request(`http://127.0.0.1:${(env.app.server.address() as AddressInfo).port}/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
    }, (res) => { res.resume(); res.on('end', () => resolve({ status: res.statusCode, requestId: String(res.headers['x-request-id']) })) })
    req.on('error', reject)
    req.flushHeaders()
    setTimeout(() => req.end(body), 100)
  })
  t.equal(slow.status, 200)
  const slowServer = await eventually(async () => (await spans()).find((s) => s.kind === SpanKind.SERVER && s.attributes['http.request.id'] === slow.requestId))
  const slowTrace = (await spans()).filter((s) => s.spanContext().traceId === slowServer.spanContext().traceId)
  t.ok(slowTrace.some((s) => s.attributes['db.system.name'] === 'postgresql'), 'a slow body\'s request still has its statements in its trace')
  t.equal(logs.lines.find((l) => l.msg === 'request completed' && l.requestId === slow.requestId)?.traceId, slowServer.spanContext().traceId, 'and its log line names it')

  // A failing statement or command is a failed span, with the error recorded.
  await trace.getTracer('test').startActiveSpan('failures', async (span) => {
    await sql`select 1 / 0`.execute(env.app.db).catch(() => {})
    await env.app.redis.call('no-such-command').catch(() => {})
    span.end()
  })
  const failures = (await spans()).filter((s) => s.status.code === SpanStatusCode.ERROR && s.events.some((e) => e.name === 'exception'))
  t.match(failures.map((s) => [s.attributes['db.system.name'], s.status.message]), [
    ['postgresql', 'division by zero'], ['redis', /unknown command/i]
  ], 'failed statements and commands are failed spans')
  await t.rejects(startTracing(tracingSettings(), 'api', { exporter }), /already started/, 'tracing starts once per process')

  const health = await env.app.inject({ method: 'GET', url: '/health/live' })
  t.equal(health.statusCode, 200)
  const all = await spans()
  t.notOk(all.some((s) => s.attributes['http.route'] === '/health/live'), 'probes start no trace')
  t.notOk(all.some((s) => /^(moveStalledJobsToWait|extendLocks|startStalledCheckTimer|close) /.test(s.name)), 'nor does BullMQ\'s housekeeping')
  t.notOk(all.some((s) => /^(add|process) outbox/.test(s.name)), 'nor the relay\'s poll')
})

t.test('spans go to OTEL_EXPORTER_OTLP_ENDPOINT over OTLP/HTTP, with the configured headers and service name', async (t) => {
  const received: Array<{ url: string | undefined, headers: IncomingHttpHeaders, body: any }> = []
  const collector = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => { body += chunk })
    req.on('end', () => {
      received.push({ url: req.url, headers: req.headers, body: JSON.parse(body) })
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => collector.close(resolve)))
  t.teardown(stopTracing)
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/`
  const tracing: Tracing = (await startTracing(tracingSettings({ endpoint, headers: 'x-api-key=s3cret%20key', serviceName: 'bazaar-test' }), 'api'))!

  const env = await createTestEnv(t)
  const res = await env.app.inject({ method: 'GET', url: '/products?limit=1' })
  t.equal(res.statusCode, 200)
  await tracing.flush()

  const batch = await eventually(() => received.find((r) => r.url === '/v1/traces'))
  t.equal(batch.headers['x-api-key'], 's3cret key', 'the headers, URL-decoded')
  t.match(batch.headers['content-type'], /^application\/json/)
  const resource = batch.body.resourceSpans[0]
  t.ok(resource.resource.attributes.some((a: any) => a.key === 'service.name' && a.value.stringValue === 'bazaar-test'), 'the service name')
  const names = resource.scopeSpans.flatMap((s: any) => s.spans.map((span: any) => span.name))
  t.ok(names.includes('GET /products'), `the request's span is among them (${names.join(', ')})`)
})
