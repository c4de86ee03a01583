import { randomBytes } from 'node:crypto'
import type { TestEnv } from './app.ts'
import { createUser, login, type SignedIn } from './auth.ts'
import { createWorkspace } from '../../src/modules/workspaces/public.ts'
import { addAddress } from '../../src/modules/users/public.ts'

// Stores, products and shoppers for commerce tests, made through the real routes where the
// behaviour matters and written directly where they are only scenery.

export interface Store { workspaceId: string, ownerId: string, owner: SignedIn, name: string }
export interface Shopper { id: string, email: string, session: SignedIn, addressId: string }

export async function approvedStore (env: TestEnv, options: { approved?: boolean, name?: string } = {}): Promise<Store> {
  const owner = await createUser(env, { type: 'vendor', name: 'Store Owner' })
  const name = options.name ?? `Store ${randomBytes(3).toString('hex')}`
  const workspace = await env.app.db.transaction().execute((trx) => createWorkspace(trx, { name, ownerId: owner.id }, env.app.random))
  await env.app.db.insertInto('vendorProfiles').values({
    id: env.app.random.uuid(),
    userId: owner.id,
    businessType: 'retailer',
    businessName: name,
    reviewStatus: options.approved === false ? 'pending' : 'approved'
  }).execute()
  return { workspaceId: workspace.id, ownerId: owner.id, owner: await login(env.app, owner.email), name }
}

/**
 * Managed categories with these slugs, for products to carry (scenery: written directly; named
 * after the slug, top-level). Slugs already there stay as they are.
 */
export async function ensureCategories (env: TestEnv, slugs: readonly string[]): Promise<void> {
  if (slugs.length === 0) return
  await env.app.db.insertInto('categories')
    .values(slugs.map((slug) => ({ id: env.app.random.uuid(), slug, name: slug })))
    .onConflict((oc) => oc.column('slug').doNothing()).execute()
}

export interface ProductInput {
  title?: string
  description?: string
  price?: number
  currency?: string
  discountPercentage?: number
  categories?: string[]
  keywords?: string[]
  isActive?: boolean
  variants?: Array<{ size?: string | null, sku?: string, stock: number, price?: number | null }>
}

export async function createProduct (env: TestEnv, store: Store, input: ProductInput = {}): Promise<any> {
  await ensureCategories(env, input.categories ?? [])
  const res = await env.app.inject({
    method: 'POST',
    url: `/workspaces/${store.workspaceId}/products`,
    headers: store.owner.headers,
    payload: {
      title: input.title ?? 'Plain tee',
      description: input.description ?? 'A plain cotton tee.',
      price: { amount: input.price ?? 2500, currency: input.currency ?? 'usd' },
      ...(input.discountPercentage !== undefined ? { discountPercentage: input.discountPercentage } : {}),
      ...(input.categories ? { categories: input.categories } : {}),
      ...(input.keywords ? { keywords: input.keywords } : {}),
      ...(input.isActive !== undefined ? { isActive: input.isActive } : {}),
      variants: (input.variants ?? [{ stock: 100 }]).map((v) => ({ ...v, sku: v.sku ?? `SKU-${randomBytes(4).toString('hex')}` }))
    }
  })
  if (res.statusCode !== 201) throw new Error(`product not created: ${res.statusCode} ${res.body}`)
  return res.json()
}

export async function shopper (env: TestEnv): Promise<Shopper> {
  const user = await createUser(env)
  const address = await addAddress(env.app.deps, user.id, { street: '1 Test Street', city: 'Testville', zipCode: '12345', country: 'US' })
  return { id: user.id, email: user.email, session: await login(env.app, user.email), addressId: address.id }
}

export async function addToCart (env: TestEnv, who: Shopper, variantId: string, quantity = 1) {
  return env.app.inject({ method: 'POST', url: '/cart/items', headers: who.session.headers, payload: { variantId, quantity } })
}

export function checkout (env: TestEnv, who: Shopper, key = `key-${randomBytes(6).toString('hex')}`, body?: object) {
  return env.app.inject({
    method: 'POST',
    url: '/orders',
    headers: { ...who.session.headers, 'idempotency-key': key },
    payload: body ?? { shippingAddressId: who.addressId }
  })
}

/** Signed-in platform admins, one per test env (made on first use). */
const admins = new WeakMap<TestEnv, Promise<SignedIn>>()
export function platformAdmin (env: TestEnv): Promise<SignedIn> {
  let admin = admins.get(env)
  if (!admin) {
    admin = createUser(env, { type: 'admin' }).then((user) => login(env.app, user.email))
    admins.set(env, admin)
  }
  return admin
}

/**
 * A promotion code made through the real routes: a platform code (an admin's) or a store's own.
 * Defaults: a random code, 10 % off, platform-funded for platform codes. Returns the PromotionView.
 */
export async function createPromotion (env: TestEnv, scope: Store | 'platform', input: Record<string, unknown> = {}): Promise<any> {
  const body = { code: `C${randomBytes(4).toString('hex')}`, kind: 'percent', ...(input.kind === 'fixed' ? {} : { percentBps: 1000 }), ...input }
  const res = scope === 'platform'
    ? await env.app.inject({ method: 'POST', url: '/admin/promotions', headers: (await platformAdmin(env)).headers, payload: { fundedBy: 'platform', ...body } })
    : await env.app.inject({ method: 'POST', url: `/workspaces/${scope.workspaceId}/promotions`, headers: scope.owner.headers, payload: body })
  if (res.statusCode !== 201) throw new Error(`promotion not created: ${res.statusCode} ${res.body}`)
  return res.json()
}

export function applyCode (env: TestEnv, who: Shopper, code: unknown) {
  return env.app.inject({ method: 'POST', url: '/cart/promotion', headers: who.session.headers, payload: { code } })
}
