import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { createBazaarClient } from '../../client/index.ts'
import { codeFrom, uniqueEmail } from '../helpers/auth.ts'
import { approvedStore, createProduct } from '../helpers/commerce.ts'
import { paymentEnv } from '../helpers/payments.ts'

// Issue 12 item 8: a whole purchase through the generated client, against the app listening on
// a real port, with the real worker mailing the sign-up code to a real SMTP server and Stripe's
// signed webhook (made by the Stripe SDK) confirming the payment.

t.test('a customer signs up, finds a product, fills the cart, checks out and pays, all through the typed client', async (t) => {
  const { env, stripe } = await paymentEnv(t, { smtp: true, worker: true })
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { title: 'Typed linen shirt', keywords: ['typedclient'], price: 3100, variants: [{ size: 'M', stock: 5 }] })
  await env.app.listen({ port: 0, host: '127.0.0.1' })
  const baseUrl = `http://127.0.0.1:${(env.app.server.address() as AddressInfo).port}`
  const session: { accessToken?: string } = {}
  const api = createBazaarClient({ baseUrl, accessToken: () => session.accessToken })

  // Sign up with the code the worker emails.
  const email = uniqueEmail('typed-client')
  const signup = await api.POST('/auth/signup', { body: { email, name: 'Typed Client' } })
  t.equal(signup.response.status, 202)
  const code = codeFrom(await env.smtp!.waitFor((m) => m.to.includes(email)))
  const verified = await api.POST('/auth/signup/verify', { body: { signupId: signup.data!.signupId, code } })
  t.equal(verified.response.status, 201, 'signed up and signed in')
  t.equal(verified.data!.user.email, email)
  session.accessToken = verified.data!.tokens!.accessToken

  // Search the catalog.
  const found = await api.GET('/products', { params: { query: { q: 'typedclient' } } })
  t.equal(found.response.status, 200)
  const listed = found.data!.items.find((p) => p.id === product.id)
  t.ok(listed, 'the search finds the product')
  const variant = listed!.variants[0]!

  // An address, then the cart.
  const address = await api.POST('/users/me/addresses', { body: { street: '1 Client Street', city: 'Typeville', zipCode: '12345', country: 'US' } })
  t.equal(address.response.status, 201)
  const cart = await api.POST('/cart/items', { body: { variantId: variant.id, quantity: 2 } })
  t.equal(cart.response.status, 200)
  t.same(cart.data!.totals, [{ amount: 6200, currency: 'usd' }], 'the cart totals two shirts')

  // Check out, safely retryable under its Idempotency-Key.
  const checkout = () => api.POST('/orders', {
    params: { header: { 'idempotency-key': 'typed-client-checkout' } },
    body: { shippingAddressId: address.data!.id }
  })
  const placed = await checkout()
  t.equal(placed.response.status, 201, 'checked out')
  const [order] = placed.data!.orders
  t.equal(order!.status, 'pending')
  t.same(placed.data!.total, { amount: 6200, currency: 'usd' })
  const retried = await checkout()
  t.equal(retried.response.headers.get('idempotent-replayed'), 'true', 'a retry replays the checkout')
  t.equal(retried.data!.checkoutId, placed.data!.checkoutId, 'and places nothing new')

  // The customer pays at Stripe; Stripe's signed webhook reaches the API.
  const event = stripe.pay(placed.data!.payment.paymentIntentId)
  const signed = stripe.signedEvent(event)
  const webhook = await fetch(`${baseUrl}/payments/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': signed.signature },
    body: signed.payload
  })
  t.equal(webhook.status, 200, 'the webhook is accepted')

  // The order reads as paid.
  const paid = await api.GET('/orders/{id}', { params: { path: { id: order!.id } } })
  t.equal(paid.response.status, 200)
  t.equal(paid.data!.status, 'confirmed')
  t.equal(paid.data!.paymentStatus, 'paid')
  t.same(paid.data!.items.map((i) => [i.sku, i.quantity]), [[variant.sku, 2]])

  // A problem comes back typed, as the document declares it.
  const missing = await api.GET('/orders/{id}', { params: { path: { id: randomUUID() } } })
  t.equal(missing.response.status, 404)
  t.equal(missing.response.headers.get('content-type'), 'application/problem+json; charset=utf-8')
  t.equal(missing.error?.code, 'NOT_FOUND')
  t.equal(missing.error?.requestId, missing.response.headers.get('x-request-id'))
})
