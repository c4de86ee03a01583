import { spawn } from 'node:child_process'
import t from 'tap'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { shopper } from '../../helpers/commerce.ts'
import { ordersOf, paymentEnv, placedCheckout } from '../../helpers/payments.ts'
import { WITHOUT_COVERAGE } from '../../helpers/child-coverage.ts'

function pay (env: TestEnv, args: string[]): Promise<{ code: number | null, out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/pay.ts', ...args], {
      env: { ...process.env, ...WITHOUT_COVERAGE, NODE_ENV: 'test', DATABASE_URL: env.config.databaseUrl, REDIS_PREFIX: env.config.redisPrefix, DATA_DIR: env.config.dataDir, LOG_LEVEL: 'silent', STRIPE_SECRET_KEY: '', STRIPE_WEBHOOK_SECRET: '' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let out = ''
    child.stdout.on('data', (chunk) => { out += chunk })
    child.stderr.on('data', (chunk) => { out += chunk })
    child.on('exit', (code) => resolve({ code, out }))
  })
}

t.test('without Stripe credentials checkout returns a simulated intent, and the simulator route settles it', async (t) => {
  const env = await createTestEnv(t, { smtp: true, worker: true })
  const placed = await placedCheckout(env)
  const checkoutRow = await env.app.db.selectFrom('checkouts').select(['provider', 'clientSecret']).where('id', '=', placed.checkoutId).executeTakeFirstOrThrow()
  t.equal(checkoutRow.provider, 'simulator')

  const stranger = await shopper(env)
  const foreign = await env.app.inject({ method: 'POST', url: `/payments/simulator/${placed.checkoutId}/succeed`, headers: stranger.session.headers })
  t.equal(foreign.statusCode, 404, 'another customer cannot pay someone else\'s checkout')
  const anonymous = await env.app.inject({ method: 'POST', url: `/payments/simulator/${placed.checkoutId}/succeed` })
  t.equal(anonymous.statusCode, 401)
  const badOutcome = await env.app.inject({ method: 'POST', url: `/payments/simulator/${placed.checkoutId}/maybe`, headers: placed.buyer.session.headers })
  t.equal(badOutcome.statusCode, 400)
  t.equal(badOutcome.json().errors[0].pointer, '/params/outcome')
  t.same((await ordersOf(env, placed.checkoutId)).map((o) => o.paymentStatus), ['unpaid', 'unpaid'], 'refused attempts change nothing')

  const res = await env.app.inject({ method: 'POST', url: `/payments/simulator/${placed.checkoutId}/succeed`, headers: placed.buyer.session.headers })
  t.equal(res.statusCode, 200)
  t.same((await ordersOf(env, placed.checkoutId)).map((o) => [o.status, o.paymentStatus]), [['confirmed', 'paid'], ['confirmed', 'paid']])
  const events = await env.app.db.selectFrom('paymentEvents').select(['type', 'paymentIntentId']).execute()
  t.match(events, [{ type: 'payment_intent.succeeded' }], 'recorded as a payment event, as a webhook would be')
  await env.smtp!.waitFor((m) => /^Payment received/.test(m.subject) && m.to.includes(placed.buyer.email))
  await env.smtp!.waitFor((m) => /^New paid order/.test(m.subject))

  const webhook = await env.app.inject({ method: 'POST', url: '/payments/webhook', headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' }, payload: '{}' })
  t.equal(webhook.statusCode, 400, 'without a webhook secret nothing arriving at the webhook is trusted')
})

t.test('npm run pay settles a checkout from the command line, through the same code path', async (t) => {
  const env = await createTestEnv(t)
  const paid = await placedCheckout(env)
  const failed = await placedCheckout(env)

  const usage = await pay(env, ['not-a-checkout'])
  t.equal(usage.code, 2)
  t.match(usage.out, /usage: npm run pay/)
  const missing = await pay(env, ['01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f'])
  t.equal(missing.code, 1)
  t.match(missing.out, /not found/i)

  const fail = await pay(env, [failed.checkoutId, '--fail'])
  t.equal(fail.code, 0, fail.out)
  t.same((await ordersOf(env, failed.checkoutId)).map((o) => [o.status, o.paymentStatus]), [['pending', 'failed'], ['pending', 'failed']])

  const ok = await pay(env, [paid.checkoutId])
  t.equal(ok.code, 0, ok.out)
  t.match(ok.out, /payment succeeded/)
  t.same((await ordersOf(env, paid.checkoutId)).map((o) => [o.status, o.paymentStatus]), [['confirmed', 'paid'], ['confirmed', 'paid']])
  t.equal((await env.app.db.selectFrom('orderHistory').select('id').where('toStatus', '=', 'confirmed').execute()).length, 2)
})

t.test('with Stripe credentials the simulator route does not exist and a real intent is made', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const placed = await placedCheckout(env)
  t.ok(stripe.intents.has(placed.intentId), 'the intent was created at the (double of) Stripe')
  const res = await env.app.inject({ method: 'POST', url: `/payments/simulator/${placed.checkoutId}/succeed`, headers: placed.buyer.session.headers })
  t.equal(res.statusCode, 404)
  t.same((await ordersOf(env, placed.checkoutId)).map((o) => o.paymentStatus), ['unpaid', 'unpaid'])
})
