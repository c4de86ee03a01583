import t from 'tap'
import { createTestEnv } from '../../helpers/app.ts'
import { createUser, login } from '../../helpers/auth.ts'
import { approvedStore } from '../../helpers/commerce.ts'
import { deliver, paymentEnv } from '../../helpers/payments.ts'
import { deliverConnect, onboard, payoutsOf, startOnboarding } from '../../helpers/payouts.ts'
import { tenancy } from '../../helpers/tenancy.ts'

// Stripe Connect onboarding (issue 14): the owner gets a link to Stripe's hosted form, the
// vendor finishes there, and Stripe's account.updated (signed with the Connect endpoint's
// secret) makes the workspace payable. Against the Stripe double, through the real SDK.

t.test('onboarding → account.updated → enabled', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const store = await approvedStore(env)
  const before = await payoutsOf(env, store)
  t.equal(before.statusCode, 200)
  t.match(before.json(), { status: 'not_started', accountId: null, payoutsEnabled: false, commissionBps: 1000, commissionSource: 'default', updatedAt: null })

  const res = await startOnboarding(env, store)
  t.equal(res.statusCode, 200, res.body)
  const link = res.json()
  t.match(link, { status: 'pending', accountId: /^acct_/ })
  t.match(link.url, /^https:\/\/connect\.stripe\.test\/setup\/e\/acct_/)
  t.ok(new Date(link.expiresAt).getTime() > Date.now(), 'the link expires in the future')

  const created = stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/accounts')
  t.equal(created.length, 1, 'one account created at Stripe')
  t.match(created[0], {
    idempotencyKey: `connect-account-${store.workspaceId}`,
    body: { type: 'express', 'capabilities[transfers][requested]': 'true', 'metadata[workspaceId]': store.workspaceId }
  })
  t.notOk('country' in created[0]!.body, 'no country unless CONNECT_ACCOUNT_COUNTRY is set')
  t.equal(stripe.accountLinks.length, 1)
  const base = `${env.config.appUrl}/workspaces/${store.workspaceId}/payouts`
  t.match(stripe.accountLinks[0], { account: link.accountId, type: 'account_onboarding', return_url: `${base}?onboarding=return`, refresh_url: `${base}?onboarding=refresh`, url: link.url })

  const pending = (await payoutsOf(env, store)).json()
  t.match(pending, { status: 'pending', accountId: link.accountId, detailsSubmitted: false, payoutsEnabled: false, requirementsDue: ['external_account', 'tos_acceptance.date'] })

  const again = await startOnboarding(env, store)
  t.equal(again.json().accountId, link.accountId, 'a second call continues with the same account')
  t.not(again.json().url, link.url, 'with a fresh link')
  t.equal(stripe.accounts.size, 1)
  t.notOk(JSON.stringify(await env.app.db.selectFrom('payoutAccounts').selectAll().execute()).includes('connect.stripe.test'), 'the link is not stored')

  const event = stripe.completeOnboarding(link.accountId)
  t.equal(event.account, link.accountId, 'a Connect event names its account')
  const delivered = await deliverConnect(env, stripe, event)
  t.equal(delivered.statusCode, 200, delivered.body)
  t.same(delivered.json(), { received: true, duplicate: false })
  const enabled = (await payoutsOf(env, store)).json()
  t.match(enabled, { status: 'enabled', chargesEnabled: true, payoutsEnabled: true, detailsSubmitted: true, requirementsDue: [], disabledReason: null })
  t.equal(stripe.requests.filter((r) => r.method === 'GET' && r.path === `/v1/accounts/${link.accountId}`).length, 1, 'the account was read from Stripe')
})

t.test('the same account.updated ten times at once: applied once', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const store = await approvedStore(env)
  const accountId = (await startOnboarding(env, store)).json().accountId
  const signed = stripe.signedEvent(stripe.completeOnboarding(accountId), { secret: stripe.connectWebhookSecret })
  const results = await Promise.all(Array.from({ length: 10 }, () => deliver(env, signed)))
  t.ok(results.every((r) => r.statusCode === 200), 'every copy is acknowledged')
  t.equal(results.filter((r) => r.json().duplicate === false).length, 1, 'one copy was processed')
  const events = await env.app.db.selectFrom('paymentEvents').select(['id', 'type']).execute()
  t.same(events.map((e) => e.type), ['account.updated'], 'recorded once')
  const row = await env.app.db.selectFrom('payoutAccounts').select(['status', 'providerStateAt']).where('workspaceId', '=', store.workspaceId).executeTakeFirstOrThrow()
  t.equal(row.status, 'enabled')
  t.ok(row.providerStateAt, 'the state applied is dated')
})

t.test('events in any order end on Stripe\'s current state; restricted; unknown accounts', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const store = await approvedStore(env)
  const accountId = (await startOnboarding(env, store)).json().accountId
  const older = stripe.restrictAccount(accountId)
  const newer = stripe.completeOnboarding(accountId)
  t.equal((await deliverConnect(env, stripe, newer)).statusCode, 200)
  t.equal((await payoutsOf(env, store)).json().status, 'enabled')
  const late = await deliverConnect(env, stripe, older)
  t.same(late.json(), { received: true, duplicate: false })
  t.equal((await payoutsOf(env, store)).json().status, 'enabled', 'an older event delivered after a newer one: still enabled (Stripe is read)')

  t.equal((await deliverConnect(env, stripe, stripe.restrictAccount(accountId))).statusCode, 200)
  t.match((await payoutsOf(env, store)).json(), { status: 'restricted', payoutsEnabled: false, disabledReason: 'requirements.past_due', requirementsDue: ['external_account'] })

  // Not ours: recorded and acknowledged, Stripe is not asked about it, nothing changes.
  const reads = stripe.requests.length
  const foreign = { ...newer, id: 'evt_foreign', account: 'acct_someone_else', data: { object: { ...newer.data.object, id: 'acct_someone_else' } } }
  const res = await deliverConnect(env, stripe, foreign)
  t.same(res.json(), { received: true, duplicate: false })
  t.equal(stripe.requests.length, reads, 'no request to Stripe')
  t.equal((await payoutsOf(env, store)).json().status, 'restricted')
})

t.test('account.updated verifies with either secret; a wrong one is 400; Stripe down is 502 and the event comes again', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const store = await approvedStore(env)
  const accountId = (await startOnboarding(env, store)).json().accountId
  const event = stripe.completeOnboarding(accountId)

  const forged = await deliver(env, stripe.signedEvent(event, { secret: 'whsec_forged' }))
  t.equal(forged.statusCode, 400)
  t.equal(forged.json().code, 'INVALID_SIGNATURE')

  stripe.unavailable = (method, path) => method === 'GET' && path.startsWith('/v1/accounts/')
  const down = await deliverConnect(env, stripe, event)
  t.equal(down.statusCode, 502)
  t.equal(down.json().code, 'PAYMENT_PROVIDER_ERROR')
  t.equal((await env.app.db.selectFrom('paymentEvents').select('id').execute()).length, 0, 'not recorded: Stripe delivers it again')
  t.equal((await payoutsOf(env, store)).json().status, 'pending')
  t.equal(forged.json().code, 'INVALID_SIGNATURE')

  stripe.unavailable = null
  const platformSigned = await deliver(env, stripe.signedEvent(event))
  t.same(platformSigned.json(), { received: true, duplicate: false }, 'the platform endpoint\'s secret verifies too')
  t.equal((await payoutsOf(env, store)).json().status, 'enabled')
})

t.test('who may onboard and read: owner only for onboarding; owner and admin read; others 403 or 404', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const world = await tenancy(env)
  const post = (role: keyof typeof world.users) => env.app.inject({ method: 'POST', url: `/workspaces/${world.workspaceId}/payouts/onboarding`, headers: world.users[role].session.headers })
  const get = (role: keyof typeof world.users) => env.app.inject({ method: 'GET', url: `/workspaces/${world.workspaceId}/payouts`, headers: world.users[role].session.headers })
  t.equal((await post('member')).statusCode, 403)
  const asAdmin = await post('admin')
  t.equal(asAdmin.statusCode, 403, 'a workspace admin may not connect the owner\'s bank account')
  t.equal(asAdmin.json().code, 'FORBIDDEN')
  for (const role of ['non-member', 'other-owner'] as const) {
    const res = await post(role)
    t.equal(res.statusCode, 404, `${role}: 404`)
    t.match(res.json().detail, /workspace not found/)
  }
  t.equal(stripe.requests.length, 0, 'no refused call reached Stripe')
  t.equal((await post('owner')).statusCode, 200)
  t.equal((await get('admin')).statusCode, 200, 'a workspace admin reads it')
  t.equal((await get('member')).statusCode, 403)
  t.equal((await get('non-member')).statusCode, 404)
  const anonymous = await env.app.inject({ method: 'GET', url: `/workspaces/${world.workspaceId}/payouts` })
  t.equal(anonymous.statusCode, 401)
  const badId = await env.app.inject({ method: 'GET', url: '/workspaces/not-a-uuid/payouts', headers: world.users.owner.session.headers })
  t.equal(badId.statusCode, 400)
})

t.test('twenty concurrent onboarding calls make one Stripe account', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  stripe.latencyMs = 30
  const store = await approvedStore(env)
  const results = await Promise.all(Array.from({ length: 20 }, () => startOnboarding(env, store)))
  t.ok(results.every((r) => r.statusCode === 200), results.map((r) => r.statusCode).join())
  t.equal(new Set(results.map((r) => r.json().accountId)).size, 1, 'every call answers the same account')
  t.equal(stripe.accounts.size, 1, 'one account at Stripe')
  const creates = stripe.requests.filter((r) => r.method === 'POST' && r.path === '/v1/accounts')
  t.ok(creates.every((r) => r.idempotencyKey === `connect-account-${store.workspaceId}`), 'every create carried the workspace\'s key')
  const rows = await env.app.db.selectFrom('payoutAccounts').select(['stripeAccountId']).execute()
  t.same(rows, [{ stripeAccountId: results[0]!.json().accountId }], 'one row, with that account')
})

t.test('Stripe unreachable at onboarding: 502, then a retry makes the one account', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const store = await approvedStore(env)
  stripe.unavailable = (method, path) => method === 'POST' && path === '/v1/accounts'
  const down = await startOnboarding(env, store)
  t.equal(down.statusCode, 502)
  t.equal(down.json().code, 'PAYMENT_PROVIDER_ERROR')
  t.equal((await payoutsOf(env, store)).json().status, 'not_started')
  stripe.unavailable = null
  const ok = await startOnboarding(env, store)
  t.equal(ok.statusCode, 200)
  t.equal(stripe.accounts.size, 1)
})

t.test('CONNECT_ACCOUNT_COUNTRY names the country of new accounts', async (t) => {
  const { env, stripe } = await paymentEnv(t, { config: { payments: { commissionBps: 1000, connectAccountCountry: 'DE' } } })
  const store = await approvedStore(env)
  t.equal((await startOnboarding(env, store)).statusCode, 200)
  t.equal(stripe.requests.find((r) => r.path === '/v1/accounts')!.body.country, 'DE')
  t.equal([...stripe.accounts.values()][0]!.country, 'DE')
})

t.test('simulator mode: the link is the simulator route; POST it to enable (owner or platform admin only)', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const res = await startOnboarding(env, store)
  t.equal(res.statusCode, 200)
  const link = res.json()
  t.equal(link.accountId, `acct_sim_${store.workspaceId.replace(/-/g, '')}`)
  t.equal(link.url, `${env.config.publicUrl}/payments/simulator/accounts/${store.workspaceId}/enable`)
  const path = new URL(link.url).pathname

  const stranger = await login(env.app, (await createUser(env, { type: 'vendor' })).email)
  t.equal((await env.app.inject({ method: 'POST', url: path, headers: stranger.headers })).statusCode, 404, 'another user: 404')
  const unknown = await env.app.inject({ method: 'POST', url: path.replace(store.workspaceId, (await approvedStore(env)).workspaceId), headers: store.owner.headers })
  t.equal(unknown.statusCode, 404, 'not the caller\'s workspace')

  const enabled = await env.app.inject({ method: 'POST', url: path, headers: store.owner.headers })
  t.same(enabled.json(), { received: true, duplicate: false })
  t.match((await payoutsOf(env, store)).json(), { status: 'enabled', accountId: link.accountId, payoutsEnabled: true })

  const admin = await login(env.app, (await createUser(env, { type: 'admin' })).email)
  const restricted = await env.app.inject({ method: 'POST', url: path.replace(/enable$/, 'restrict'), headers: admin.headers })
  t.equal(restricted.statusCode, 200, 'a platform admin may drive any workspace\'s account')
  t.match((await payoutsOf(env, store)).json(), { status: 'restricted', disabledReason: 'requirements.past_due' })
  const bad = await env.app.inject({ method: 'POST', url: path.replace(/enable$/, 'explode'), headers: store.owner.headers })
  t.equal(bad.statusCode, 400)
})

t.test('onboard helper: payouts off keeps the account pending', async (t) => {
  const { env, stripe } = await paymentEnv(t)
  const store = await approvedStore(env)
  await onboard(env, stripe, store, { payouts: false })
  t.match((await payoutsOf(env, store)).json(), { status: 'pending', detailsSubmitted: true, payoutsEnabled: false, disabledReason: 'requirements.pending_verification' })
})
