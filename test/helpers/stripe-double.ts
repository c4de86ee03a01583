import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import Stripe from 'stripe'
import { transfersPart, type DoubleReversal, type DoubleTransfer } from './stripe-double-transfers.ts'

// A local stand-in for Stripe's HTTP API (the only remote part tests may replace): the
// official SDK talks to it through STRIPE_API_URL. It keeps what it was asked, honours
// Idempotency-Key like Stripe (same key, same response), and follows Stripe's rules where our
// money depends on them: an intent's amount can change and it can be cancelled only before it
// is paid; a refund needs a captured charge and never exceeds what is left of it. Every change
// Stripe would announce (payment succeeded or failed, charge refunded) is appended to `events`
// with a snapshot of the object, for a test to deliver, redeliver or reorder.

export interface RecordedRequest { method: string, path: string, idempotencyKey: string | undefined, body: Record<string, string> }
export interface DoubleIntent {
  id: string
  object: 'payment_intent'
  amount: number
  amount_received: number
  currency: string
  status: string
  client_secret: string
  metadata: Record<string, string>
  latest_charge: string | null
}
export interface DoubleCharge {
  id: string
  object: 'charge'
  payment_intent: string
  amount: number
  amount_captured: number
  amount_refunded: number
  currency: string
  captured: boolean
  refunded: boolean
  status: 'succeeded'
}
export interface DoubleRefund { id: string, object: 'refund', amount: number, charge: string, payment_intent: string, currency: string, status: 'succeeded', metadata: Record<string, string> }
export interface DoubleEvent { id: string, object: 'event', type: string, created: number, account?: string, data: { object: Record<string, unknown> } }
export interface DoubleAccount {
  id: string
  object: 'account'
  type: 'express'
  country: string
  charges_enabled: boolean
  payouts_enabled: boolean
  details_submitted: boolean
  capabilities: { transfers?: 'active' | 'inactive' | 'pending' }
  requirements: { currently_due: string[], eventually_due: string[], past_due: string[], pending_verification: string[], disabled_reason: string | null }
  metadata: Record<string, string>
}
export interface DoubleAccountLink { object: 'account_link', account: string, type: string, refresh_url: string, return_url: string, url: string, created: number, expires_at: number }

export interface StripeDouble {
  url: string
  secretKey: string
  webhookSecret: string
  requests: RecordedRequest[]
  intents: Map<string, DoubleIntent>
  charges: Map<string, DoubleCharge>
  refunds: DoubleRefund[]
  /** Every event Stripe would send, in the order it happened. */
  events: DoubleEvent[]
  /** Connect: the connected accounts made, and every onboarding link handed out. */
  accounts: Map<string, DoubleAccount>
  accountLinks: DoubleAccountLink[]
  /** The signing secret of the Connect webhook endpoint (account.updated); the app is given both. */
  connectWebhookSecret: string
  /** The vendor finishes onboarding: details submitted, transfers active, payouts on (or off); the account.updated event (with top-level `account`). */
  completeOnboarding: (accountId: string, options?: { payouts?: boolean }) => DoubleEvent
  /** Stripe needs something again: payouts off, `reason` as disabled_reason, past due; the account.updated event. */
  restrictAccount: (accountId: string, reason?: string) => DoubleEvent
  /** Milliseconds every API request waits before it is handled (widens race windows). */
  latencyMs: number
  /** While it returns true for a request, Stripe answers it with a 500 that the SDK does not retry (an outage). */
  unavailable: ((method: string, path: string) => boolean) | null
  setIntentStatus: (id: string, status: string) => void
  /** The customer pays the intent's current amount: a charge, and a payment_intent.succeeded event. Throws when it cannot be paid. */
  pay: (intentId: string) => DoubleEvent
  /** A declined attempt: the intent waits for another payment method; a payment_intent.payment_failed event. */
  failPayment: (intentId: string) => DoubleEvent
  /** A refund made in Stripe's dashboard (no metadata of ours): a charge.refunded event. */
  refundAtProvider: (intentId: string, amount?: number) => DoubleEvent
  /** Captured minus refunded for an intent, as Stripe sees it. */
  netCaptured: (intentId: string) => number
  /** Connect transfers (tr_…) and their reversals (trr_…), as made. */
  transfers: Map<string, DoubleTransfer>
  reversals: DoubleReversal[]
  /** What an account received, net of reversals. */
  transfersTo: (accountId: string) => number
  /** Whether a transfer may go to this account (default: it exists in `accounts` with the transfers capability active). */
  accountCanReceive: (accountId: string) => boolean | 'missing'
  /** Requests it matches are handled, recorded and cached, but answered only at release() (the caller may be gone by then). */
  holdResponses: (match: (method: string, path: string) => boolean) => { held: () => number, release: () => void }
  /** The next `times` requests it matches are handled, recorded and cached, then their socket is destroyed (the SDK retries with the same key). */
  dropResponses: (match: (method: string, path: string) => boolean, times?: number) => void
  /** The next request to method + path (a prefix) is refused with this 4xx instead of being handled; the refusal is kept under its key and replayed, as Stripe does. */
  refuseNext: (method: string, pathPrefix: string, error: { status: number, code: string }) => void
  /** Stripe prunes idempotency keys after 24 hours: every key is forgotten. */
  forgetIdempotencyKeys: () => void
  /** A webhook request body and a Stripe-Signature header made with the real SDK. */
  signedEvent: (event: object, options?: { timestamp?: number, secret?: string }) => { payload: string, signature: string }
  close: () => Promise<void>
}

function formBody (raw: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(raw))
}

const UPDATABLE = new Set(['requires_payment_method', 'requires_confirmation', 'requires_action'])
const CANCELLABLE = new Set(['requires_payment_method', 'requires_confirmation', 'requires_action', 'requires_capture'])

class StripeError extends Error {
  constructor (readonly status: number, readonly code: string, message: string) { super(message) }
}
const notFound = (what: string) => new StripeError(404, 'resource_missing', `No such ${what}`)

export async function startStripeDouble (): Promise<StripeDouble> {
  const requests: RecordedRequest[] = []
  const intents = new Map<string, DoubleIntent>()
  const charges = new Map<string, DoubleCharge>()
  const refunds: DoubleRefund[] = []
  const events: DoubleEvent[] = []
  const accounts = new Map<string, DoubleAccount>()
  const accountLinks: DoubleAccountLink[] = []
  const connectWebhookSecret = `whsec_${randomBytes(16).toString('hex')}`
  const byKey = new Map<string, { status: number, body: unknown, request: string }>()
  const webhookSecret = `whsec_${randomBytes(16).toString('hex')}`
  const metadataOf = (body: Record<string, string>) =>
    Object.fromEntries(Object.entries(body).filter(([k]) => k.startsWith('metadata[')).map(([k, v]) => [k.slice(9, -1), v]))

  function emit (type: string, object: object): DoubleEvent {
    const event: DoubleEvent = { id: `evt_${randomBytes(10).toString('hex')}`, object: 'event', type, created: Math.floor(Date.now() / 1000), data: { object: structuredClone(object) as Record<string, unknown> } }
    events.push(event)
    return event
  }

  function accountOf (id: string): DoubleAccount {
    const account = accounts.get(id)
    if (!account) throw notFound('account')
    return account
  }

  /** An account.updated as Connect sends it: the account named at the top level too. */
  function accountUpdated (account: DoubleAccount): DoubleEvent {
    const event = emit('account.updated', account)
    event.account = account.id
    return event
  }

  function intentOf (id: string): DoubleIntent {
    const intent = intents.get(id)
    if (!intent) throw notFound('payment_intent')
    return intent
  }

  function createRefund (intentId: string, amount: number | undefined, metadata: Record<string, string>): DoubleRefund {
    const intent = intentOf(intentId)
    const charge = intent.latest_charge ? charges.get(intent.latest_charge) : undefined
    if (intent.status !== 'succeeded' || !charge) throw new StripeError(400, 'payment_intent_unexpected_state', 'This PaymentIntent has no successful charge to refund.')
    const left = charge.amount_captured - charge.amount_refunded
    const value = amount ?? left
    if (left <= 0) throw new StripeError(400, 'charge_already_refunded', `Charge ${charge.id} has already been refunded.`)
    if (!(value > 0) || value > left) throw new StripeError(400, 'amount_too_large', `Refund amount (${value}) is greater than unrefunded amount on charge (${left})`)
    const refund: DoubleRefund = { id: `re_${randomBytes(10).toString('hex')}`, object: 'refund', amount: value, charge: charge.id, payment_intent: intent.id, currency: charge.currency, status: 'succeeded', metadata }
    refunds.push(refund)
    charge.amount_refunded += value
    charge.refunded = charge.amount_refunded === charge.amount_captured
    emit('charge.refunded', charge)
    return refund
  }

  const transferApi = transfersPart({
    charges,
    canReceive: (id) => double.accountCanReceive(id),
    emit,
    metadataOf,
    fail: (status, code, message) => new StripeError(status, code, message)
  })
  const holds: Array<{ match: (method: string, path: string) => boolean, waiting: Array<() => void>, released: boolean }> = []
  const drops: Array<{ match: (method: string, path: string) => boolean, left: number }> = []
  const refusals: Array<{ method: string, pathPrefix: string, status: number, code: string }> = []

  function handle (method: string, path: string, query: URLSearchParams, body: Record<string, string>): unknown {
    const fromTransfers = transferApi.handle(method, path, query, body)
    if (fromTransfers !== undefined) return fromTransfers
    if (method === 'POST' && path === '/v1/payment_intents') {
      const id = `pi_${randomBytes(12).toString('hex')}`
      const intent: DoubleIntent = {
        id,
        object: 'payment_intent',
        amount: Number(body.amount),
        amount_received: 0,
        currency: body.currency ?? 'usd',
        status: 'requires_payment_method',
        client_secret: `${id}_secret_${randomBytes(8).toString('hex')}`,
        metadata: metadataOf(body),
        latest_charge: null
      }
      intents.set(id, intent)
      return intent
    }
    if (method === 'POST' && path === '/v1/accounts') {
      if (body.type !== 'express') throw new StripeError(400, 'parameter_invalid_string', 'Only express accounts are served by this double (type).')
      const account: DoubleAccount = {
        id: `acct_${randomBytes(8).toString('hex')}`,
        object: 'account',
        type: 'express',
        country: body.country ?? 'US',
        charges_enabled: false,
        payouts_enabled: false,
        details_submitted: false,
        capabilities: body['capabilities[transfers][requested]'] === 'true' ? { transfers: 'inactive' } : {},
        requirements: { currently_due: ['external_account', 'tos_acceptance.date'], eventually_due: [], past_due: [], pending_verification: [], disabled_reason: 'requirements.past_due' },
        metadata: metadataOf(body)
      }
      accounts.set(account.id, account)
      return account
    }
    const accountMatch = /^\/v1\/accounts\/([^/]+)$/.exec(path)
    if (method === 'GET' && accountMatch) return accountOf(accountMatch[1]!)
    if (method === 'POST' && path === '/v1/account_links') {
      for (const field of ['account', 'type', 'refresh_url', 'return_url']) {
        if (!body[field]) throw new StripeError(400, 'parameter_missing', `Missing required param: ${field}.`)
      }
      if (!['account_onboarding', 'account_update'].includes(body.type!)) throw new StripeError(400, 'parameter_invalid_string', 'Invalid type.')
      const account = accountOf(body.account!)
      const created = Math.floor(Date.now() / 1000)
      const link: DoubleAccountLink = {
        object: 'account_link',
        account: account.id,
        type: body.type!,
        refresh_url: body.refresh_url!,
        return_url: body.return_url!,
        url: `https://connect.stripe.test/setup/e/${account.id}/${randomBytes(8).toString('hex')}`,
        created,
        expires_at: created + 300
      }
      accountLinks.push(link)
      return { object: link.object, url: link.url, created: link.created, expires_at: link.expires_at }
    }
    const intentMatch = /^\/v1\/payment_intents\/([^/]+)(\/cancel)?$/.exec(path)
    if (intentMatch) {
      const intent = intentOf(intentMatch[1]!)
      if (method === 'POST' && intentMatch[2]) {
        if (!CANCELLABLE.has(intent.status)) throw new StripeError(400, 'payment_intent_unexpected_state', `You cannot cancel this PaymentIntent because it has a status of ${intent.status}.`)
        intent.status = 'canceled'
      } else if (method === 'POST') {
        if (!UPDATABLE.has(intent.status)) throw new StripeError(400, 'payment_intent_unexpected_state', `This PaymentIntent's amount could not be updated because it has a status of ${intent.status}.`)
        if (body.amount !== undefined) {
          const amount = Number(body.amount)
          if (!Number.isInteger(amount) || amount < 1) throw new StripeError(400, 'parameter_invalid_integer', 'Invalid integer: amount')
          intent.amount = amount
        }
      }
      return intent
    }
    const chargeMatch = /^\/v1\/charges\/([^/]+)$/.exec(path)
    if (method === 'GET' && chargeMatch) {
      const charge = charges.get(chargeMatch[1]!)
      if (!charge) throw notFound('charge')
      return charge
    }
    if (method === 'POST' && path === '/v1/refunds') {
      return createRefund(body.payment_intent ?? '', body.amount === undefined ? undefined : Number(body.amount), metadataOf(body))
    }
    if (method === 'GET' && path === '/v1/refunds') {
      const intentId = query.get('payment_intent')
      const data = refunds.filter((r) => !intentId || r.payment_intent === intentId).reverse()
      return { object: 'list', data, has_more: false, url: '/v1/refunds' }
    }
    throw new StripeError(404, 'resource_missing', `unknown endpoint ${method} ${path}`)
  }

  const double: StripeDouble = {
    url: '',
    secretKey: 'sk_test_double',
    webhookSecret,
    requests,
    intents,
    charges,
    refunds,
    events,
    accounts,
    accountLinks,
    connectWebhookSecret,
    completeOnboarding (accountId, options = {}) {
      const account = accountOf(accountId)
      const payouts = options.payouts ?? true
      account.details_submitted = true
      account.charges_enabled = true
      account.payouts_enabled = payouts
      account.capabilities.transfers = 'active'
      account.requirements = { currently_due: [], eventually_due: [], past_due: [], pending_verification: payouts ? [] : ['individual.verification.document'], disabled_reason: payouts ? null : 'requirements.pending_verification' }
      return accountUpdated(account)
    },
    restrictAccount (accountId, reason = 'requirements.past_due') {
      const account = accountOf(accountId)
      account.payouts_enabled = false
      account.charges_enabled = false
      account.capabilities.transfers = 'inactive'
      account.requirements = { currently_due: ['external_account'], eventually_due: ['external_account'], past_due: ['external_account'], pending_verification: [], disabled_reason: reason }
      return accountUpdated(account)
    },
    latencyMs: 0,
    unavailable: null,
    transfers: transferApi.transfers,
    reversals: transferApi.reversals,
    transfersTo: transferApi.transfersTo,
    accountCanReceive (id) {
      const account = accounts.get(id)
      return account ? account.capabilities.transfers === 'active' : 'missing'
    },
    holdResponses (match) {
      const hold = { match, waiting: [] as Array<() => void>, released: false }
      holds.push(hold)
      return {
        held: () => hold.waiting.length,
        release: () => {
          hold.released = true
          holds.splice(holds.indexOf(hold), 1)
          for (const send of hold.waiting.splice(0)) send()
        }
      }
    },
    dropResponses (match, times = 1) { drops.push({ match, left: times }) },
    refuseNext (method, pathPrefix, error) { refusals.push({ method, pathPrefix, ...error }) },
    forgetIdempotencyKeys () { byKey.clear() },
    setIntentStatus (id, status) {
      if (status === 'succeeded') { double.pay(id); return }
      intentOf(id).status = status
    },
    pay (intentId) {
      const intent = intentOf(intentId)
      if (!UPDATABLE.has(intent.status) && intent.status !== 'processing') throw new Error(`intent ${intentId} cannot be paid: ${intent.status}`)
      const charge: DoubleCharge = { id: `ch_${randomBytes(10).toString('hex')}`, object: 'charge', payment_intent: intent.id, amount: intent.amount, amount_captured: intent.amount, amount_refunded: 0, currency: intent.currency, captured: true, refunded: false, status: 'succeeded' }
      charges.set(charge.id, charge)
      intent.status = 'succeeded'
      intent.amount_received = intent.amount
      intent.latest_charge = charge.id
      return emit('payment_intent.succeeded', intent)
    },
    failPayment (intentId) {
      const intent = intentOf(intentId)
      if (!UPDATABLE.has(intent.status) && intent.status !== 'processing') throw new Error(`intent ${intentId} cannot fail: ${intent.status}`)
      intent.status = 'requires_payment_method'
      return emit('payment_intent.payment_failed', { ...intent, last_payment_error: { code: 'card_declined' } })
    },
    refundAtProvider (intentId, amount) {
      createRefund(intentId, amount, {})
      return events[events.length - 1]!
    },
    netCaptured (intentId) {
      const intent = intentOf(intentId)
      return intent.amount_received - refunds.filter((r) => r.payment_intent === intentId).reduce((sum, r) => sum + r.amount, 0)
    },
    signedEvent (event, options = {}) {
      const payload = JSON.stringify(event)
      const signature = sdk.webhooks.generateTestHeaderString({ payload, secret: options.secret ?? webhookSecret, ...(options.timestamp ? { timestamp: options.timestamp } : {}) })
      return { payload, signature }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = ''
    req.on('data', (chunk) => { raw += chunk })
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://double')
      const path = url.pathname
      const method = req.method ?? ''
      const key = req.headers['idempotency-key'] as string | undefined
      const body = formBody(raw)
      requests.push({ method, path, idempotencyKey: key, body })
      const respond = () => {
        if (double.unavailable?.(method, path)) {
          res.writeHead(500, { 'content-type': 'application/json', 'stripe-should-retry': 'false' })
          res.end(JSON.stringify({ error: { type: 'api_error', message: 'Stripe is unavailable (test double)' } }))
          return
        }
        // Stripe keeps the first answer under a key (a 200 or a refusal: a 4xx), replays it,
        // and refuses a key reused with another path or other parameters.
        const sameRequest = `${path} ${JSON.stringify(Object.entries(body).sort(([a], [b]) => a.localeCompare(b)))}`
        const cacheKey = key && method === 'POST' ? key : undefined
        let result = cacheKey ? byKey.get(cacheKey) : undefined
        if (result && result.request !== sameRequest) {
          result = { status: 400, body: { error: { type: 'idempotency_error', message: `Keys for idempotent requests can only be used with the same parameters they were first used with (test double: ${key})` } }, request: sameRequest }
        }
        const refusal = result ? -1 : refusals.findIndex((r) => r.method === method && path.startsWith(r.pathPrefix))
        if (refusal >= 0) {
          const r = refusals.splice(refusal, 1)[0]!
          result = { status: r.status, body: { error: { type: 'invalid_request_error', code: r.code, message: `refused (test double): ${r.code}` } }, request: sameRequest }
        }
        if (!result) {
          try {
            result = { status: 200, body: structuredClone(handle(method, path, url.searchParams, body)), request: sameRequest }
          } catch (err) {
            if (!(err instanceof StripeError)) throw err
            result = { status: err.status, body: { error: { type: 'invalid_request_error', code: err.code, message: err.message } }, request: sameRequest }
          }
        }
        if (cacheKey && !byKey.has(cacheKey) && result.status < 500 && result.status !== 409 && result.status !== 429) byKey.set(cacheKey, result)
        const answer = result
        const send = () => {
          res.writeHead(answer.status, { 'content-type': 'application/json', 'request-id': `req_${randomBytes(6).toString('hex')}` })
          res.end(JSON.stringify(answer.body))
        }
        const drop = drops.find((d) => d.left > 0 && d.match(method, path))
        if (drop) {
          drop.left--
          req.socket.destroy()
          return
        }
        const hold = holds.find((h) => h.match(method, path))
        if (hold) hold.waiting.push(send)
        else send()
      }
      if (double.latencyMs > 0) setTimeout(respond, double.latencyMs)
      else respond()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const sdk = new Stripe('sk_test_double')
  double.url = `http://127.0.0.1:${port}`
  return double
}
