import type { TestEnv } from './app.ts'
import { createUser, login } from './auth.ts'
import type { Store } from './commerce.ts'

// Shipping and tax rates for commerce tests, made through their real routes (issue 14).

export interface RateInput { name?: string, kind?: 'flat' | 'free_over', amount: number, freeOver?: number, currency?: string, countries?: string[], isActive?: boolean }

export async function createShippingRate (env: TestEnv, store: Store, input: RateInput): Promise<{ id: string, name: string }> {
  const currency = input.currency ?? 'usd'
  const res = await env.app.inject({
    method: 'POST',
    url: `/workspaces/${store.workspaceId}/shipping-rates`,
    headers: store.owner.headers,
    payload: {
      name: input.name ?? `${input.kind ?? 'flat'} ${input.amount}`,
      kind: input.kind ?? 'flat',
      amount: { amount: input.amount, currency },
      ...(input.freeOver !== undefined ? { freeOver: { amount: input.freeOver, currency } } : {}),
      ...(input.countries ? { countries: input.countries } : {}),
      ...(input.isActive !== undefined ? { isActive: input.isActive } : {})
    }
  })
  if (res.statusCode !== 201) throw new Error(`shipping rate not created: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** A platform admin's headers, for the admin routes. */
export async function adminHeaders (env: TestEnv): Promise<Record<string, string>> {
  const user = await createUser(env, { type: 'admin' })
  return (await login(env.app, user.email)).headers
}

export async function createTaxRate (env: TestEnv, headers: Record<string, string>, input: { country: string, region?: string, rateBps: number, inclusive?: boolean, name?: string }): Promise<{ id: string }> {
  const res = await env.app.inject({ method: 'POST', url: '/admin/tax-rates', headers, payload: { name: input.name ?? `${input.country} ${input.region ?? ''}`.trim(), ...input } })
  if (res.statusCode !== 201) throw new Error(`tax rate not created: ${res.statusCode} ${res.body}`)
  return res.json()
}
