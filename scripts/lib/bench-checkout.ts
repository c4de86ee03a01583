import type { Deps } from '../../src/platform/deps.ts'
import { hashPassword } from '../../src/platform/passwords.ts'
import { addAddress, findUserByEmail, insertUser } from '../../src/modules/users/public.ts'
import { percentile } from './bench-stats.ts'

// The checkout load of the benchmarks: signed-in shoppers, each looping add-to-cart then
// POST /orders (a new idempotency key each time) as fast as the API answers, so checkouts
// overlap as they do in production. Payments go to the local simulator (no Stripe key set).

export interface BenchShopper { userId: string, email: string, authorization: string, addressId: string }

/**
 * `count` active customers named `bench-shopper-<i>@example.test` (created once, reused), each
 * with an address, signed in through `apiUrl`.
 */
export async function benchShoppers (deps: Deps, apiUrl: string, count: number, password: string): Promise<BenchShopper[]> {
  const passwordHash = await hashPassword(password)
  const shoppers: BenchShopper[] = []
  for (let i = 0; i < count; i++) {
    const email = `bench-shopper-${i}@example.test`
    const user = await findUserByEmail(deps.db, email) ??
      await insertUser(deps.db, { email, name: 'Bench Shopper', type: 'customer', status: 'active', passwordHash, verifiedAt: deps.clock.now() }, deps.random)
    const address = await addAddress(deps, user.id, { street: '1 Bench Way', city: 'Loadtown', zipCode: '10101', country: 'US' })
    const res = await fetch(`${apiUrl}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })
    if (res.status !== 200) throw new Error(`bench shopper sign-in: ${res.status} ${await res.text()}`)
    const { tokens } = await res.json() as { tokens: { accessToken: string } }
    shoppers.push({ userId: user.id, email, authorization: `Bearer ${tokens.accessToken}`, addressId: address.id })
  }
  return shoppers
}

export interface CheckoutLoad {
  /** Checkouts answered (201 or not). */
  orders: number
  /** POST /orders answered 201, per second of the run. */
  ordersPerSecond: number
  /** Latency of POST /orders alone, ms. */
  p50: number
  p99: number
  /** Requests that failed without an answer (connection errors). */
  errors: number
  /** Answers other than 2xx, add-to-cart and checkout together. */
  non2xx: number
}

export interface CheckoutRun { apiUrl: string, shopper: BenchShopper, variantId: string }

/**
 * Each run loops add-to-cart (one of `variantId`) then checkout on its API for `seconds`; the
 * checkout request alone is timed. `label` keeps idempotency keys of separate calls apart.
 */
export async function checkoutLoad (runs: readonly CheckoutRun[], seconds: number, label: string): Promise<CheckoutLoad> {
  const latencies: number[] = []
  let errors = 0
  let non2xx = 0
  let created = 0
  const started = performance.now()
  const deadline = started + seconds * 1000
  await Promise.all(runs.map(async ({ apiUrl, shopper, variantId }, i) => {
    const headers = { 'content-type': 'application/json', authorization: shopper.authorization }
    let n = 0
    while (performance.now() < deadline) {
      try {
        const add = await fetch(`${apiUrl}/cart/items`, { method: 'POST', headers, body: JSON.stringify({ variantId, quantity: 1 }) })
        await add.arrayBuffer()
        if (add.status >= 300) non2xx++
        const t0 = performance.now()
        const res = await fetch(`${apiUrl}/orders`, { method: 'POST', headers: { ...headers, 'idempotency-key': `bench-${label}-${i}-${n++}` }, body: JSON.stringify({ shippingAddressId: shopper.addressId }) })
        await res.arrayBuffer()
        latencies.push(performance.now() - t0)
        if (res.status === 201) created++
        else non2xx++
      } catch {
        errors++
      }
    }
  }))
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return { orders: latencies.length, ordersPerSecond: Math.round(created / elapsed), p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), errors, non2xx }
}
