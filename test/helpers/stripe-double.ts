import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import Stripe from 'stripe'

// A local stand-in for Stripe's HTTP API (the only remote part tests may replace): the
// official SDK talks to it through STRIPE_API_URL. It keeps what it was asked, honours
// Idempotency-Key like Stripe (same key, same response), and lets a test set an intent's status.

export interface RecordedRequest { method: string, path: string, idempotencyKey: string | undefined, body: Record<string, string> }
export interface DoubleIntent { id: string, object: 'payment_intent', amount: number, currency: string, status: string, client_secret: string, metadata: Record<string, string> }

export interface StripeDouble {
  url: string
  secretKey: string
  webhookSecret: string
  requests: RecordedRequest[]
  intents: Map<string, DoubleIntent>
  setIntentStatus: (id: string, status: string) => void
  /** A webhook request body and a Stripe-Signature header made with the real SDK. */
  signedEvent: (event: object, options?: { timestamp?: number, secret?: string }) => { payload: string, signature: string }
  close: () => Promise<void>
}

function formBody (raw: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(raw))
}

export async function startStripeDouble (): Promise<StripeDouble> {
  const requests: RecordedRequest[] = []
  const intents = new Map<string, DoubleIntent>()
  const byKey = new Map<string, { status: number, body: unknown }>()
  const webhookSecret = `whsec_${randomBytes(16).toString('hex')}`

  function handle (method: string, path: string, body: Record<string, string>): { status: number, body: unknown } {
    if (method === 'POST' && path === '/v1/payment_intents') {
      const id = `pi_${randomBytes(12).toString('hex')}`
      const intent: DoubleIntent = {
        id,
        object: 'payment_intent',
        amount: Number(body.amount),
        currency: body.currency ?? 'usd',
        status: 'requires_payment_method',
        client_secret: `${id}_secret_${randomBytes(8).toString('hex')}`,
        metadata: Object.fromEntries(Object.entries(body).filter(([k]) => k.startsWith('metadata[')).map(([k, v]) => [k.slice(9, -1), v]))
      }
      intents.set(id, intent)
      return { status: 200, body: intent }
    }
    const intentMatch = /^\/v1\/payment_intents\/([^/]+)(\/cancel)?$/.exec(path)
    if (intentMatch) {
      const intent = intents.get(intentMatch[1]!)
      if (!intent) return { status: 404, body: { error: { type: 'invalid_request_error', message: 'No such payment_intent' } } }
      if (method === 'POST' && intentMatch[2]) {
        if (intent.status === 'succeeded') return { status: 400, body: { error: { type: 'invalid_request_error', message: 'already succeeded' } } }
        intent.status = 'canceled'
      }
      return { status: 200, body: intent }
    }
    if (method === 'POST' && path === '/v1/refunds') {
      const intent = intents.get(body.payment_intent ?? '')
      if (!intent) return { status: 404, body: { error: { type: 'invalid_request_error', message: 'No such payment_intent' } } }
      return { status: 200, body: { id: `re_${randomBytes(10).toString('hex')}`, object: 'refund', amount: Number(body.amount ?? intent.amount), payment_intent: intent.id, status: 'succeeded' } }
    }
    return { status: 404, body: { error: { type: 'invalid_request_error', message: `unknown endpoint ${method} ${path}` } } }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = ''
    req.on('data', (chunk) => { raw += chunk })
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!
      const key = req.headers['idempotency-key'] as string | undefined
      const body = formBody(raw)
      requests.push({ method: req.method ?? '', path, idempotencyKey: key, body })
      const cacheKey = key && req.method === 'POST' ? `${path} ${key}` : undefined
      const result = cacheKey && byKey.has(cacheKey) ? byKey.get(cacheKey)! : handle(req.method ?? '', path, body)
      if (cacheKey) byKey.set(cacheKey, result)
      res.writeHead(result.status, { 'content-type': 'application/json', 'request-id': `req_${randomBytes(6).toString('hex')}` })
      res.end(JSON.stringify(result.body))
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const sdk = new Stripe('sk_test_double')

  return {
    url: `http://127.0.0.1:${port}`,
    secretKey: 'sk_test_double',
    webhookSecret,
    requests,
    intents,
    setIntentStatus (id, status) {
      const intent = intents.get(id)
      if (!intent) throw new Error(`no intent ${id}`)
      intent.status = status
    },
    signedEvent (event, options = {}) {
      const payload = JSON.stringify(event)
      const signature = sdk.webhooks.generateTestHeaderString({ payload, secret: options.secret ?? webhookSecret, ...(options.timestamp ? { timestamp: options.timestamp } : {}) })
      return { payload, signature }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
