import t from 'tap'
import SwaggerParser from '@apidevtools/swagger-parser'
import { createTestEnv, type TestEnv } from '../helpers/app.ts'
import { createUser, login, type SignedIn } from '../helpers/auth.ts'
import { approvedStore, createProduct, shopper } from '../helpers/commerce.ts'
import { NO_NUL, SINGLE_LINE } from '../../src/platform/schema-types.ts'
import { isE164Phone } from '../../src/platform/phone.ts'

// Text with a NUL character is refused everywhere with a 400 naming the field (Postgres cannot
// store NUL; today such input fails inside a query, a 500). Free-form JSON (workspace settings,
// sign-in analytics) has a bounded size and depth. Two proofs: every text field the API
// documents is NUL-safe by its schema (so a new field cannot forget it), and a table of real
// requests over many routes gets the 400 with the right pointer and changes nothing.

const NUL = 'a\u0000b'
/** Formats whose grammar has no room for a NUL. */
// e164: platform/phone.ts checks `^\+[1-9]\d{1,14}$` before libphonenumber (asserted below).
const SAFE_FORMATS = new Set(['uuid', 'email', 'date-time', 'date', 'uri', 'e164'])

/** A pattern that cannot match a string containing NUL: anchored, no wildcard, no negated class. */
function excludesNul (pattern: string): boolean {
  if (pattern === NO_NUL || pattern === SINGLE_LINE) return true
  if (!pattern.startsWith('^') || !pattern.endsWith('$')) return false
  if (/\[\^|\\[SWDP]/.test(pattern)) return false
  const outsideClasses = pattern.replace(/\\./g, '').replace(/\[[^\]]*\]/g, '')
  return !outsideClasses.includes('.')
}

function unsafeStrings (schema: any, where: string, found: string[], seen = new Set<any>()): void {
  if (!schema || typeof schema !== 'object' || seen.has(schema)) return
  seen.add(schema)
  if (schema['x-json-limits']) return // free-form JSON: bounded and NUL-checked as a whole
  const types = Array.isArray(schema.type) ? schema.type : [schema.type]
  if (types.includes('string') && schema.const === undefined && schema.enum === undefined) {
    const safe = (schema.format && SAFE_FORMATS.has(schema.format)) || (typeof schema.pattern === 'string' && excludesNul(schema.pattern))
    if (!safe) found.push(`${where} (${JSON.stringify({ pattern: schema.pattern, format: schema.format })})`)
  }
  if (types.includes('object') && schema.properties === undefined && schema.additionalProperties !== false) {
    found.push(`${where}: free-form object without x-json-limits`)
  }
  for (const [name, sub] of Object.entries<any>(schema.properties ?? {})) unsafeStrings(sub, `${where}/${name}`, found, seen)
  for (const [name, sub] of Object.entries<any>(schema.patternProperties ?? {})) unsafeStrings(sub, `${where}/<${name}>`, found, seen)
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') unsafeStrings(schema.additionalProperties, `${where}/*`, found, seen)
  if (schema.items) unsafeStrings(schema.items, `${where}/0`, found, seen)
  for (const key of ['anyOf', 'oneOf', 'allOf']) for (const sub of schema[key] ?? []) unsafeStrings(sub, where, found, seen)
}

t.test('every text field of every documented request (body, query, params, headers) refuses NUL by its schema', async (t) => {
  const { app } = await createTestEnv(t)
  const document = await SwaggerParser.dereference(structuredClone((await app.inject({ method: 'GET', url: '/docs/json' })).json())) as any
  const found: string[] = []
  let fields = 0
  for (const [path, item] of Object.entries<any>(document.paths)) {
    for (const [method, operation] of Object.entries<any>(item)) {
      const route = `${method.toUpperCase()} ${path}`
      for (const parameter of operation.parameters ?? []) {
        fields++
        unsafeStrings(parameter.schema, `${route} ${parameter.in}:${parameter.name}`, found)
      }
      const body = operation.requestBody?.content?.['application/json']?.schema
      if (body) {
        fields++
        unsafeStrings(body, `${route} body`, found)
      }
    }
  }
  t.ok(fields > 60, `checked ${fields} inputs`)
  t.same(found, [], 'no text input accepts NUL; no free-form object is unbounded')
  t.equal(isE164Phone('+447700900123\u0000'), false, 'the e164 format refuses NUL')
  t.equal(isE164Phone('+44770090\u00000123'), false)
})

interface Case { name: string, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, as?: SignedIn, payload?: unknown, headers?: Record<string, string>, pointer: string }

async function world (env: TestEnv) {
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { variants: [{ stock: 5 }] })
  const buyer = await shopper(env)
  const admin = await createUser(env, { type: 'admin' })
  const adminSession = await login(env.app, admin.email)
  const vendor = await createUser(env, { type: 'vendor' })
  const vendorSession = await login(env.app, vendor.email)
  const profile = (await env.app.inject({ method: 'POST', url: '/vendor-profiles', headers: vendorSession.headers, payload: { businessType: 'retailer', businessName: 'Plain Goods' } })).json()
  return { store, product, buyer, admin: adminSession, vendor: vendorSession, profile }
}

t.test('a NUL anywhere in a body, a query string or a header is a 400 naming the field, and changes nothing', async (t) => {
  const env = await createTestEnv(t)
  const w = await world(env)
  const ws = w.store.workspaceId
  const productBody = { title: 'Tee', price: { amount: 100, currency: 'usd' }, variants: [{ sku: 'NUL-1', stock: 1 }] }
  const cases: Case[] = [
    { name: 'catalog search', method: 'GET', url: '/products?q=a%00b', pointer: '/querystring/q' },
    { name: 'catalog category', method: 'GET', url: '/products?category=a%00b', pointer: '/querystring/category' },
    { name: 'catalog cursor', method: 'GET', url: '/products?cursor=a%00b', pointer: '/querystring/cursor' },
    { name: 'vendor search', method: 'GET', url: '/vendor-profiles?q=a%00b', pointer: '/querystring/q' },
    { name: 'vendor business type filter', method: 'GET', url: '/vendor-profiles?businessType=a%00b', pointer: '/querystring/businessType' },
    { name: 'admin user search', method: 'GET', url: '/users?q=a%00b', as: w.admin, pointer: '/querystring/q' },
    { name: 'order list cursor', method: 'GET', url: '/orders?cursor=a%00b', as: w.buyer.session, pointer: '/querystring/cursor' },
    { name: 'sign-up name', method: 'POST', url: '/auth/signup', payload: { email: 'nul@example.com', name: NUL, password: 'long enough password' }, pointer: '/body/name' },
    { name: 'sign-up workspace name', method: 'POST', url: '/auth/signup', payload: { email: 'nul2@example.com', name: 'Ok', workspaceName: NUL, password: 'long enough password' }, pointer: '/body/workspaceName' },
    { name: 'sign-up password', method: 'POST', url: '/auth/signup', payload: { email: 'nul3@example.com', name: 'Ok', password: `long enough ${NUL}` }, pointer: '/body/password' },
    { name: 'sign-in analytics text', method: 'POST', url: '/auth/login', payload: { email: 'nobody@example.com', password: 'whatever', analytics: { timezone: NUL } }, pointer: '/body/analytics/timezone' },
    { name: 'sign-in password', method: 'POST', url: '/auth/login', payload: { email: 'nobody@example.com', password: NUL }, pointer: '/body/password' },
    { name: 'workspace name', method: 'POST', url: '/workspaces', as: w.store.owner, payload: { name: NUL }, pointer: '/body/name' },
    { name: 'workspace rename', method: 'PATCH', url: `/workspaces/${ws}`, as: w.store.owner, payload: { name: NUL }, pointer: '/body/name' },
    { name: 'workspace settings value', method: 'PATCH', url: `/workspaces/${ws}`, as: w.store.owner, payload: { settings: { theme: NUL } }, pointer: '/body/settings' },
    { name: 'workspace settings nested value', method: 'PATCH', url: `/workspaces/${ws}`, as: w.store.owner, payload: { settings: { theme: { colors: [NUL] } } }, pointer: '/body/settings' },
    { name: 'workspace settings key', method: 'PATCH', url: `/workspaces/${ws}`, as: w.store.owner, payload: { settings: { [NUL]: 1 } }, pointer: '/body/settings' },
    { name: 'product title', method: 'POST', url: `/workspaces/${ws}/products`, as: w.store.owner, payload: { ...productBody, title: NUL }, pointer: '/body/title' },
    { name: 'product description', method: 'POST', url: `/workspaces/${ws}/products`, as: w.store.owner, payload: { ...productBody, description: NUL }, pointer: '/body/description' },
    { name: 'product keyword', method: 'POST', url: `/workspaces/${ws}/products`, as: w.store.owner, payload: { ...productBody, keywords: ['ok', NUL] }, pointer: '/body/keywords/1' },
    { name: 'product faq answer', method: 'POST', url: `/workspaces/${ws}/products`, as: w.store.owner, payload: { ...productBody, faq: [{ question: 'q', answer: NUL }] }, pointer: '/body/faq/0/answer' },
    { name: 'product update title', method: 'PATCH', url: `/workspaces/${ws}/products/${w.product.id}`, as: w.store.owner, payload: { title: NUL }, pointer: '/body/title' },
    { name: 'invitation accept token', method: 'POST', url: '/invitations/accept', as: w.buyer.session, payload: { token: `${'x'.repeat(30)}\u0000` }, pointer: '/body/token' },
    { name: 'profile name', method: 'PATCH', url: '/users/me', as: w.buyer.session, payload: { name: NUL }, pointer: '/body/name' },
    { name: 'address street', method: 'POST', url: '/users/me/addresses', as: w.buyer.session, payload: { street: NUL, city: 'C', zipCode: '1', country: 'US' }, pointer: '/body/street' },
    { name: 'vendor profile business name', method: 'POST', url: '/vendor-profiles', as: w.admin, payload: { businessType: 'retailer', businessName: NUL }, pointer: '/body/businessName' },
    { name: 'vendor profile address', method: 'PATCH', url: `/vendor-profiles/${w.profile.id}`, as: w.vendor, payload: { address: NUL }, pointer: '/body/address' },
    { name: 'vendor review reason', method: 'PATCH', url: `/vendor-profiles/${w.profile.id}/review`, as: w.admin, payload: { status: 'rejected', reason: NUL }, pointer: '/body/reason' },
    { name: 'checkout note', method: 'POST', url: '/orders', as: w.buyer.session, headers: { 'idempotency-key': 'nul-note' }, payload: { shippingAddressId: w.buyer.addressId, note: NUL }, pointer: '/body/note' },
    { name: 'checkout inline address', method: 'POST', url: '/orders', as: w.buyer.session, headers: { 'idempotency-key': 'nul-address' }, payload: { shippingAddress: { street: NUL, city: 'C', zipCode: '1', country: 'US' } }, pointer: '/body/shippingAddress/street' },
    { name: 'idempotency key header', method: 'POST', url: '/workspaces', as: w.store.owner, headers: { 'idempotency-key': NUL }, payload: { name: 'Fine' }, pointer: '/headers/idempotency-key' }
  ]

  const snapshot = async () => ({
    workspaces: await env.app.db.selectFrom('workspaces').select(['id', 'name', 'settings']).orderBy('id').execute(),
    products: await env.app.db.selectFrom('products').select(['id', 'title']).orderBy('id').execute(),
    users: await env.app.db.selectFrom('users').select(['id', 'name']).orderBy('id').execute(),
    addresses: await env.app.db.selectFrom('addresses').select('id').orderBy('id').execute(),
    profiles: await env.app.db.selectFrom('vendorProfiles').select(['id', 'businessName', 'address', 'reviewStatus']).orderBy('id').execute(),
    orders: await env.app.db.selectFrom('orders').select('id').execute()
  })
  const before = await snapshot()
  for (const c of cases) {
    const res = await env.app.inject({ method: c.method, url: c.url, headers: { ...(c.as?.headers ?? {}), ...(c.headers ?? {}) }, ...(c.payload !== undefined ? { payload: c.payload as object } : {}) })
    t.equal(res.statusCode, 400, `${c.name}: 400 (${res.body.slice(0, 200)})`)
    if (res.statusCode !== 400) continue
    t.match(res.headers['content-type'], /application\/problem\+json/)
    const body = res.json()
    t.equal(body.code, 'VALIDATION_FAILED', `${c.name}: VALIDATION_FAILED`)
    t.ok(body.errors?.some((e: { pointer: string }) => e.pointer === c.pointer), `${c.name}: names ${c.pointer} (got ${JSON.stringify(body.errors)})`)
  }
  t.same(await snapshot(), before, 'nothing was written')
})

t.test('free-form JSON is bounded in size and depth; within the bounds it is stored as sent', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const patch = (settings: unknown) => env.app.inject({ method: 'PATCH', url: `/workspaces/${store.workspaceId}`, headers: store.owner.headers, payload: { settings } })
  const settingsOf = async () => (await env.app.db.selectFrom('workspaces').select('settings').where('id', '=', store.workspaceId).executeTakeFirstOrThrow()).settings

  const fine = { theme: { colors: { primary: '#112233', accents: ['#445566'] } }, banner: 'Welcome, 日本' }
  const ok = await patch(fine)
  t.equal(ok.statusCode, 200)
  t.same(ok.json().settings, fine)
  t.same(await settingsOf(), fine)

  let deep: unknown = 'bottom'
  for (let i = 0; i < 40; i++) deep = { level: deep }
  const tooDeep = await patch(deep)
  t.equal(tooDeep.statusCode, 400, 'a deeply nested object is refused')
  t.equal(tooDeep.json().errors[0].pointer, '/body/settings')
  t.match(tooDeep.json().errors[0].detail, /levels deep/)

  let deepArray: unknown = 1
  for (let i = 0; i < 40; i++) deepArray = [deepArray]
  t.equal((await patch({ a: deepArray })).statusCode, 400, 'deep arrays too')

  const huge = await patch({ blob: 'x'.repeat(40_000) })
  t.equal(huge.statusCode, 400, 'an oversized object is refused')
  t.equal(huge.json().errors[0].pointer, '/body/settings')
  t.match(huge.json().errors[0].detail, /bytes/)
  const wide = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'y'.repeat(900)]))
  t.equal((await patch(wide)).statusCode, 400, 'many medium values add up')
  t.same(await settingsOf(), fine, 'refusals changed nothing')

  const analytics: Record<string, unknown> = {}
  let nested: unknown = 'x'
  for (let i = 0; i < 40; i++) nested = { n: nested }
  analytics.extra = nested
  const signup = await env.app.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'deep@example.com', name: 'Deep', password: 'long enough password', analytics } })
  t.equal(signup.statusCode, 400, 'sign-up analytics cannot smuggle unbounded JSON')
})

t.test('text with an unpaired surrogate (not Unicode; Postgres refuses it in jsonb) is a 400 naming the field; emoji are fine', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { variants: [{ stock: 5 }] })
  const ws = store.workspaceId
  const lone = ['x\ud800y', 'x\udfffy', 'tail\udbff']
  const before = await env.app.db.selectFrom('products').select(['title', 'faq']).where('id', '=', product.id).executeTakeFirstOrThrow()
  const settingsBefore = (await env.app.db.selectFrom('workspaces').select('settings').where('id', '=', ws).executeTakeFirstOrThrow()).settings
  for (const text of lone) {
    const cases = [
      { name: 'settings value', url: `/workspaces/${ws}`, payload: { settings: { theme: text } }, pointer: '/body/settings' },
      { name: 'settings key', url: `/workspaces/${ws}`, payload: { settings: { [text]: 1 } }, pointer: '/body/settings' },
      { name: 'faq question (jsonb)', url: `/workspaces/${ws}/products/${product.id}`, payload: { faq: [{ question: text, answer: 'a' }] }, pointer: '/body/faq/0/question' },
      { name: 'product title', url: `/workspaces/${ws}/products/${product.id}`, payload: { title: text }, pointer: '/body/title' }
    ]
    for (const c of cases) {
      const res = await env.app.inject({ method: 'PATCH', url: c.url, headers: store.owner.headers, payload: c.payload })
      t.equal(res.statusCode, 400, `${c.name} ${JSON.stringify(text)}: 400 (${res.body.slice(0, 120)})`)
      if (res.statusCode === 400) t.ok(res.json().errors?.some((e: { pointer: string }) => e.pointer === c.pointer), `${c.name}: names ${c.pointer}`)
    }
  }
  t.same(await env.app.db.selectFrom('products').select(['title', 'faq']).where('id', '=', product.id).executeTakeFirstOrThrow(), before, 'the product is unchanged')
  t.same((await env.app.db.selectFrom('workspaces').select('settings').where('id', '=', ws).executeTakeFirstOrThrow()).settings, settingsBefore, 'the settings are unchanged')

  const emoji = 'Tee 👕 𝔘𝔫𝔦𝔠𝔬𝔡𝔢'
  const titled = await env.app.inject({ method: 'PATCH', url: `/workspaces/${ws}/products/${product.id}`, headers: store.owner.headers, payload: { title: emoji, faq: [{ question: emoji, answer: '🙂' }] } })
  t.equal(titled.statusCode, 200, 'astral characters (surrogate pairs) are text')
  t.equal(titled.json().title, emoji)
  const themed = await env.app.inject({ method: 'PATCH', url: `/workspaces/${ws}`, headers: store.owner.headers, payload: { settings: { banner: emoji } } })
  t.equal(themed.statusCode, 200)
  t.same(themed.json().settings, { banner: emoji })
})
