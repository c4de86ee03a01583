import t from 'tap'
import { createTestEnv, eventually } from '../helpers/app.ts'
import { startPrivateRedis } from '../helpers/redis-server.ts'
import { startSmtpServer } from '../helpers/smtp.ts'
import { addToOutbox } from '../../src/platform/outbox.ts'
import { defineTemplate, html, layout, sealEmail } from '../../src/platform/mail.ts'
import { createSealer } from '../../src/platform/crypto.ts'

// A template of the test's own: the pipeline under test is outbox → relay → queue → worker → SMTP.
const templates = {
  notice: defineTemplate('notice', (vars: { subject: string, line: string }) => ({
    subject: vars.subject,
    text: vars.line,
    html: layout(vars.subject, html`<p>${vars.line}</p>`)
  }))
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test('a committed outbox message arrives once; a rolled-back one never does', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: { templates } })
  const { app, smtp } = env
  const sealer = createSealer(env.config.encryptionKey)

  await app.db.transaction().execute(async (trx) => {
    await addToOutbox(trx, 'email', 'notice', sealEmail(sealer, 'notice', { to: 'buyer@example.test', vars: { subject: 'Committed', line: 'kept <b>safe</b>' } }))
  })
  await app.db.transaction().execute(async (trx) => {
    await addToOutbox(trx, 'email', 'notice', sealEmail(sealer, 'notice', { to: 'buyer@example.test', vars: { subject: 'Rolled back', line: 'never' } }))
    throw new Error('roll back')
  }).catch(() => {})

  const mail = await smtp!.waitFor((m) => m.subject === 'Committed')
  t.same(mail.to, ['buyer@example.test'])
  t.equal(mail.text.trim(), 'kept <b>safe</b>', 'the text part carries the line as is')
  t.match(mail.html, '<p>kept &lt;b&gt;safe&lt;/b&gt;</p>', 'the HTML part escapes it')

  // Several relay intervals later, still exactly one message and no trace of the rolled-back one.
  await sleep(env.config.outboxIntervalMs * 6)
  t.equal(smtp!.messages.filter((m) => m.subject === 'Committed').length, 1, 'delivered exactly once')
  t.equal(smtp!.messages.filter((m) => m.subject === 'Rolled back').length, 0, 'the rolled-back message never arrives')
  const rows = await app.db.selectFrom('outbox').select(['jobName', 'relayedAt']).execute()
  t.equal(rows.length, 1, 'only the committed row exists')
  t.ok(rows[0]!.relayedAt, 'and it is marked relayed')
})

t.test('two relays at once queue each row once', async (t) => {
  const env = await createTestEnv(t, { smtp: true })
  const sealer = createSealer(env.config.encryptionKey)
  await env.app.db.transaction().execute(async (trx) => {
    for (let i = 0; i < 30; i++) {
      await addToOutbox(trx, 'email', 'notice', sealEmail(sealer, 'notice', { to: `n${i}@example.test`, vars: { subject: `n${i}`, line: 'x' } }))
    }
  })
  await Promise.all([env.startWorker({ templates }), env.startWorker({ templates })])
  await eventually(() => env.smtp!.messages.length >= 30, 20000)
  await sleep(env.config.outboxIntervalMs * 5)
  const subjects = env.smtp!.messages.map((m) => m.subject).sort()
  t.equal(subjects.length, 30, 'thirty messages, no duplicates')
  t.equal(new Set(subjects).size, 30)
})

t.test('a message committed while Redis is down arrives once Redis is back', async (t) => {
  const redis = await startPrivateRedis()
  t.teardown(() => redis.close())
  const smtp = await startSmtpServer()
  t.teardown(() => smtp.close())
  const env = await createTestEnv(t, { config: { redisUrl: redis.url, smtpUrl: smtp.url }, worker: { templates } })
  const sealer = createSealer(env.config.encryptionKey)

  await redis.stop()
  // The API's transaction needs only Postgres: it commits although Redis is unreachable.
  await env.app.db.transaction().execute(async (trx) => {
    await addToOutbox(trx, 'email', 'notice', sealEmail(sealer, 'notice', { to: 'late@example.test', vars: { subject: 'Survived the outage', line: 'ok' } }))
  })
  await sleep(1000)
  t.equal(smtp.messages.length, 0, 'nothing is sent while Redis is down')
  const pending = await env.app.db.selectFrom('outbox').select('relayedAt').executeTakeFirstOrThrow()
  t.equal(pending.relayedAt, null, 'the row waits in the outbox')

  await redis.start()
  const mail = await smtp.waitFor((m) => m.subject === 'Survived the outage', 30000)
  t.same(mail.to, ['late@example.test'])
  await sleep(env.config.outboxIntervalMs * 5)
  t.equal(smtp.messages.length, 1, 'exactly once')
})
