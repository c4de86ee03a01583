import { randomUUID } from 'node:crypto'
import t from 'tap'
import { createTestEnv, eventually, type TestEnv } from '../../helpers/app.ts'
import { createUser, login } from '../../helpers/auth.ts'
import { approvedStore, createProduct, ensureCategories, shopper, type Store } from '../../helpers/commerce.ts'
import { multipart, HTML, JPEG, PDF, PNG, WEBP, type FilePart } from '../../helpers/multipart.ts'
import { isStored, publicKey, storedOf, watchStorage } from '../../helpers/stored-files.ts'

// Product management under /workspaces/:wid/products (SPEC 8.1, 8.2): variants, SKUs, updates,
// soft delete, images sniffed from their bytes, and who may do any of it.

const SIZES = ['S', 'M', 'L', 'XL', 'XXL']

/** A multipart body, keeping the caller's authorization header. */
function withFiles (auth: Record<string, string>, files: FilePart[], fields: Record<string, string> = {}) {
  const body = multipart(files, fields)
  return { payload: body.payload, headers: { ...auth, ...body.headers } }
}

function api (env: TestEnv, store: Store) {
  const base = `/workspaces/${store.workspaceId}/products`
  const headers = store.owner.headers
  return {
    create: (payload: object) => env.app.inject({ method: 'POST', url: base, headers, payload }),
    patch: (id: string, payload: object) => env.app.inject({ method: 'PATCH', url: `${base}/${id}`, headers, payload }),
    get: (id: string) => env.app.inject({ method: 'GET', url: `${base}/${id}`, headers }),
    list: () => env.app.inject({ method: 'GET', url: `${base}?limit=100`, headers }),
    remove: (id: string) => env.app.inject({ method: 'DELETE', url: `${base}/${id}`, headers }),
    upload: (id: string, files: FilePart[]) => env.app.inject({ method: 'POST', url: `${base}/${id}/images`, ...withFiles(headers, files) }),
    reorder: (id: string, order: unknown) => env.app.inject({ method: 'PATCH', url: `${base}/${id}/images`, headers, payload: { order } }),
    removeImage: (id: string, imageId: string) => env.app.inject({ method: 'DELETE', url: `${base}/${id}/images/${imageId}`, headers })
  }
}

const sku = (label = 'SKU') => `${label}-${randomUUID().slice(0, 8)}`

async function rowCounts (env: TestEnv) {
  const count = async (table: 'products' | 'productVariants' | 'productImages') =>
    Number((await env.app.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)
  return { products: await count('products'), variants: await count('productVariants'), images: await count('productImages') }
}

const image = (content: Buffer, filename = 'photo.png', contentType = 'image/png'): FilePart => ({ field: 'images', filename, contentType, content })
const fileUrl = (url: string) => new URL(url).pathname

t.test('a product with sizes S to XXL and one without sizes (a single default variant)', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const { create } = api(env, store)
  await ensureCategories(env, ['shirts', 'office'])

  const res = await create({
    title: 'Oxford shirt',
    description: 'Cotton oxford.',
    price: { amount: 4900, currency: 'USD' },
    discountPercentage: 10,
    categories: ['shirts', 'office'],
    keywords: ['oxford', 'cotton'],
    faq: [{ question: 'Does it shrink?', answer: 'Less than 2%.' }],
    variants: SIZES.map((size, i) => ({ size, sku: `OX-${size}`, stock: i * 2, ...(size === 'XXL' ? { price: 5400 } : {}) }))
  })
  t.equal(res.statusCode, 201)
  const shirt = res.json()
  t.match(shirt, {
    workspaceId: store.workspaceId,
    title: 'Oxford shirt',
    description: 'Cotton oxford.',
    price: { amount: 4900, currency: 'usd' },
    discountPercentage: 10,
    finalPrice: { amount: 4410, currency: 'usd' },
    categories: ['shirts', 'office'],
    keywords: ['oxford', 'cotton'],
    faq: [{ question: 'Does it shrink?', answer: 'Less than 2%.' }],
    images: [],
    isActive: true
  })
  t.match(shirt.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/, 'a UUIDv7 id')
  t.same(shirt.variants.map((v: any) => [v.size, v.sku, v.stock, v.price.amount, v.finalPrice.amount]), [
    ['S', 'OX-S', 0, 4900, 4410], ['M', 'OX-M', 2, 4900, 4410], ['L', 'OX-L', 4, 4900, 4410], ['XL', 'OX-XL', 6, 4900, 4410], ['XXL', 'OX-XXL', 8, 5400, 4860]
  ], 'five variants in the given order, XXL at its own price')
  t.ok(shirt.variants.every((v: any) => typeof v.id === 'string'), 'each variant has an id')
  t.ok(!Number.isNaN(Date.parse(shirt.createdAt)) && !Number.isNaN(Date.parse(shirt.updatedAt)), 'ISO timestamps')
  const row = await env.app.db.selectFrom('products').select(['sizes', 'createdBy', 'updatedBy']).where('id', '=', shirt.id).executeTakeFirstOrThrow()
  t.same(row.sizes, SIZES, 'the sizes column the size filter uses')
  t.equal(row.createdBy, store.ownerId, 'audit: created by the caller')
  t.equal(row.updatedBy, store.ownerId)

  const mug = await create({ title: 'Mug', price: { amount: 1200, currency: 'eur' }, variants: [{ sku: 'MUG-1', stock: 9 }] })
  t.equal(mug.statusCode, 201)
  t.match(mug.json(), { description: '', discountPercentage: 0, categories: [], keywords: [], faq: [], isActive: true, finalPrice: { amount: 1200, currency: 'eur' } }, 'defaults')
  t.same(mug.json().variants.map((v: any) => [v.size, v.sku, v.stock]), [[null, 'MUG-1', 9]], 'one default variant without a size')
  const nullSize = await create({ title: 'Bowl', price: { amount: 900, currency: 'eur' }, variants: [{ size: null, sku: 'BOWL-1', stock: 1 }] })
  t.equal(nullSize.statusCode, 201, 'size: null is a default variant too')

  const fetched = await api(env, store).get(shirt.id)
  t.same(fetched.json(), shirt, 'GET returns what POST returned')
  const catalog = await env.app.inject({ method: 'GET', url: `/products/${shirt.id}` })
  t.same(catalog.json(), shirt, 'and so does the catalog')
})

t.test('invalid variant lists are a 400 naming /body/variants, and nothing is created', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const { create } = api(env, store)
  const before = await rowCounts(env)
  const base = { title: 'Tee', price: { amount: 1000, currency: 'usd' } }
  const cases: Array<[string, unknown[]]> = [
    ['no variants', []],
    ['sized and unsized mixed', [{ size: 'S', sku: sku(), stock: 1 }, { sku: sku(), stock: 1 }]],
    ['two default variants', [{ sku: sku(), stock: 1 }, { sku: sku(), stock: 1 }]],
    ['a size twice', [{ size: 'M', sku: sku(), stock: 1 }, { size: 'M', sku: sku(), stock: 1 }]],
    ['a SKU twice', [{ size: 'S', sku: 'SAME', stock: 1 }, { size: 'M', sku: 'SAME', stock: 1 }]],
    ['an unknown size', [{ size: 'XS', sku: sku(), stock: 1 }]],
    ['a negative stock', [{ sku: sku(), stock: -1 }]],
    ['a SKU with spaces', [{ sku: 'has space', stock: 1 }]],
    ['an unknown field', [{ sku: sku(), stock: 1, colour: 'red' }]],
    ['no SKU', [{ stock: 1 }]],
    ['more than 20', Array.from({ length: 21 }, () => ({ sku: sku(), stock: 1 }))]
  ]
  for (const [label, variants] of cases) {
    const res = await create({ ...base, variants })
    t.equal(res.statusCode, 400, `${label}: 400`)
    t.equal(res.json().code, 'VALIDATION_FAILED')
    t.ok(res.json().errors?.some((e: any) => e.pointer.startsWith('/body/variants')), `${label}: names /body/variants (${JSON.stringify(res.json().errors)})`)
  }
  const missing = await create(base)
  t.equal(missing.statusCode, 400)
  t.same(missing.json().errors.map((e: any) => e.pointer), ['/body/variants'], 'variants are required')
  t.same(await rowCounts(env), before, 'no product and no variant was written')
})

t.test('a SKU is unique within a workspace, not across workspaces', async (t) => {
  const env = await createTestEnv(t)
  const a = await approvedStore(env)
  const b = await approvedStore(env)
  const first = await createProduct(env, a, { title: 'Cap', variants: [{ sku: 'CAP-1', stock: 1 }] })
  const before = await rowCounts(env)

  const again = await api(env, a).create({ title: 'Another cap', price: { amount: 1000, currency: 'usd' }, variants: [{ size: 'S', sku: 'CAP-0', stock: 1 }, { size: 'M', sku: 'CAP-1', stock: 1 }] })
  t.equal(again.statusCode, 409, 'the same SKU in the same workspace: 409')
  t.equal(again.json().code, 'SKU_TAKEN')
  t.equal(again.json().errors[0].pointer, '/body/variants')
  t.same(await rowCounts(env), before, 'nothing was created, not even the variant with the free SKU')

  const elsewhere = await api(env, b).create({ title: 'Cap', price: { amount: 1000, currency: 'usd' }, variants: [{ sku: 'CAP-1', stock: 1 }] })
  t.equal(elsewhere.statusCode, 201, 'the same SKU in another workspace is fine')

  const other = await createProduct(env, a, { title: 'Beanie', variants: [{ sku: 'BEANIE-1', stock: 1 }] })
  const taken = await api(env, a).patch(other.id, { variants: [{ id: other.variants[0].id, sku: 'CAP-1', stock: 1 }] })
  t.equal(taken.statusCode, 409, 'renaming a SKU to a taken one: 409')
  t.equal(taken.json().code, 'SKU_TAKEN')
  t.equal((await api(env, a).get(other.id)).json().variants[0].sku, 'BEANIE-1', 'the update was rolled back')

  const removed = await api(env, a).remove(first.id)
  t.equal(removed.statusCode, 204)
  const reused = await api(env, a).create({ title: 'Cap v2', price: { amount: 1000, currency: 'usd' }, variants: [{ sku: 'CAP-1', stock: 1 }] })
  t.equal(reused.statusCode, 201, 'a deleted product\'s SKU can be used again')
})

t.test('PATCH updates fields and the variant list: keep by id, add, retire', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const other = await approvedStore(env)
  const { patch, get } = api(env, store)
  const product = await createProduct(env, store, { title: 'Hoodie', price: 6000, categories: ['tops'], keywords: ['warm'], variants: [{ size: 'S', sku: 'HD-S', stock: 1 }, { size: 'M', sku: 'HD-M', stock: 2 }, { size: 'L', sku: 'HD-L', stock: 3 }] })
  const [s, m, l] = product.variants
  await ensureCategories(env, ['sale'])

  const fields = await patch(product.id, { title: 'Zip hoodie', description: 'Now with a zip.', price: { amount: 6500, currency: 'usd' }, discountPercentage: 20, categories: ['tops', 'sale'], keywords: ['zip'], faq: [{ question: 'Zip?', answer: 'Yes.' }] })
  t.equal(fields.statusCode, 200)
  t.match(fields.json(), { title: 'Zip hoodie', description: 'Now with a zip.', price: { amount: 6500 }, discountPercentage: 20, finalPrice: { amount: 5200 }, categories: ['tops', 'sale'], keywords: ['zip'], faq: [{ question: 'Zip?', answer: 'Yes.' }] })
  t.same(fields.json().variants.map((v: any) => v.id), [s.id, m.id, l.id], 'variants untouched when not given')
  t.ok(Date.parse(fields.json().updatedAt) >= Date.parse(product.updatedAt), 'updatedAt moves')
  const search = await env.app.inject({ method: 'GET', url: '/products?q=zip' })
  t.same(search.json().items.map((p: any) => p.id), [product.id], 'the search index follows the new text')
  t.same((await env.app.inject({ method: 'GET', url: '/products?q=warm' })).json().items, [], 'and forgets the old keywords')

  const variants = await patch(product.id, {
    variants: [
      { id: m.id, size: 'M', sku: 'HD-M', stock: 20, price: 7000 },
      { size: 'XL', sku: 'HD-XL', stock: 4 },
      { id: s.id, size: 'S', sku: 'HD-S2', stock: 1 }
    ]
  })
  t.equal(variants.statusCode, 200)
  const after = variants.json().variants
  t.same(after.map((v: any) => [v.size, v.sku, v.stock, v.price.amount]), [['M', 'HD-M', 20, 7000], ['XL', 'HD-XL', 4, 6500], ['S', 'HD-S2', 1, 6500]], 'the new list, in its order')
  t.equal(after[0].id, m.id, 'M kept its id')
  t.equal(after[2].id, s.id, 'S kept its id')
  t.notOk([s.id, m.id, l.id].includes(after[1].id), 'XL is a new variant')
  const retired = await env.app.db.selectFrom('productVariants').select(['id', 'deletedAt']).where('id', '=', l.id).executeTakeFirstOrThrow()
  t.ok(retired.deletedAt, 'L is retired (soft-deleted: past orders may point at it)')
  t.same((await get(product.id)).json().variants.map((v: any) => v.size), ['M', 'XL', 'S'])
  const sizes = await env.app.db.selectFrom('products').select('sizes').where('id', '=', product.id).executeTakeFirstOrThrow()
  t.same(sizes.sizes.slice().sort(), ['M', 'S', 'XL'], 'the size filter follows')
  t.same((await env.app.inject({ method: 'GET', url: '/products?size=L' })).json().items, [], 'no longer listed under L')
  t.equal((await env.app.inject({ method: 'GET', url: '/products?size=XL' })).json().items.length, 1, 'listed under XL')

  const swap = await patch(product.id, { variants: [{ id: m.id, size: 'M', sku: 'HD-S2', stock: 20 }, { id: s.id, size: 'S', sku: 'HD-M', stock: 1 }] })
  t.equal(swap.statusCode, 200, `two kept variants may swap SKUs (${swap.statusCode})`)
  t.same((await get(product.id)).json().variants.map((v: any) => [v.size, v.sku]), [['M', 'HD-S2'], ['S', 'HD-M']])
  const reuse = await patch(product.id, { variants: [{ id: m.id, size: 'M', sku: 'HD-S2', stock: 20 }, { size: 'S', sku: 'HD-M', stock: 5 }] })
  t.equal(reuse.statusCode, 200, 'a retired variant\'s SKU may go to a new variant in the same request')
  t.notOk(reuse.json().variants.some((v: any) => v.id === s.id), 'S was replaced')

  const unsized = await patch(product.id, { variants: [{ sku: 'HD-ONE', stock: 7 }] })
  t.equal(unsized.statusCode, 200, 'a sized product may become a one-variant product')
  t.same(unsized.json().variants.map((v: any) => [v.size, v.sku]), [[null, 'HD-ONE']])

  const before = await rowCounts(env)
  const refusals: Array<[string, object, string]> = [
    ['a variant id of another product', { variants: [{ id: randomUUID(), sku: 'X-1', stock: 1 }] }, '/body/variants'],
    ['a retired variant id', { variants: [{ id: l.id, size: 'L', sku: 'HD-L', stock: 1 }] }, '/body/variants'],
    ['the same variant id twice', { variants: [{ id: unsized.json().variants[0].id, size: 'S', sku: 'D-1', stock: 1 }, { id: unsized.json().variants[0].id, size: 'M', sku: 'D-2', stock: 1 }] }, '/body/variants'],
    ['mixed sizes', { variants: [{ size: 'S', sku: 'A-1', stock: 1 }, { sku: 'A-2', stock: 1 }] }, '/body/variants'],
    ['an empty body', {}, '/body'],
    ['an empty variant list', { variants: [] }, '/body/variants'],
    ['a discount over 100', { discountPercentage: 101 }, '/body/discountPercentage'],
    ['an empty title', { title: '' }, '/body/title'],
    ['an unknown field', { colour: 'red' }, '/body/colour'],
    ['a variant price as a float', { variants: [{ sku: 'F-1', stock: 1, price: 9.5 }] }, '/body/variants/0/price']
  ]
  for (const [label, body, pointer] of refusals) {
    const res = await patch(product.id, body)
    t.equal(res.statusCode, 400, `${label}: 400`)
    t.ok(res.json().errors?.some((e: any) => e.pointer === pointer), `${label}: names ${pointer} (${JSON.stringify(res.json().errors)})`)
  }
  t.same(await rowCounts(env), before, 'refused updates wrote nothing')
  t.same((await get(product.id)).json().variants, unsized.json().variants, 'the variants are as they were')

  const foreign = await createProduct(env, other, { title: 'Not yours' })
  const cross = await patch(foreign.id, { title: 'Mine now' })
  t.equal(cross.statusCode, 404, 'PATCH of another workspace\'s product through my workspace: 404')
  t.equal(cross.json().code, 'NOT_FOUND')
  t.equal((await get(foreign.id)).statusCode, 404, 'and GET: 404')
  t.equal((await api(env, store).remove(foreign.id)).statusCode, 404, 'and DELETE: 404')
  t.equal((await api(env, other).get(foreign.id)).json().title, 'Not yours', 'untouched')
  t.equal((await patch(randomUUID(), { title: 'x' })).statusCode, 404, 'an unknown id: 404')
})

t.test('DELETE is a soft delete: 204, gone from catalog and management, the row kept with deleted_at', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const { remove, get, list } = api(env, store)
  const keep = await createProduct(env, store, { title: 'Keeper' })
  const product = await createProduct(env, store, { title: 'Short-lived', variants: [{ size: 'S', stock: 1 }, { size: 'M', stock: 1 }] })
  t.equal((await env.app.inject({ method: 'GET', url: `/products/${product.id}` })).statusCode, 200, 'in the catalog before')

  const res = await remove(product.id)
  t.equal(res.statusCode, 204)
  t.equal(res.body, '', 'no body')
  t.equal((await env.app.inject({ method: 'GET', url: `/products/${product.id}` })).statusCode, 404, 'catalog: 404')
  t.same((await env.app.inject({ method: 'GET', url: '/products' })).json().items.map((p: any) => p.id), [keep.id], 'catalog list: gone')
  t.equal((await get(product.id)).statusCode, 404, 'management GET: 404')
  t.same((await list()).json().items.map((p: any) => p.id), [keep.id], 'management list: gone')
  t.equal((await api(env, store).patch(product.id, { title: 'Back?' })).statusCode, 404, 'PATCH after delete: 404')
  t.equal((await remove(product.id)).statusCode, 404, 'a second DELETE: 404')

  const row = await env.app.db.selectFrom('products').select(['id', 'deletedAt', 'updatedBy', 'title']).where('id', '=', product.id).executeTakeFirstOrThrow()
  t.ok(row.deletedAt instanceof Date, 'the row still exists, with deleted_at set')
  t.equal(row.title, 'Short-lived')
  t.equal(row.updatedBy, store.ownerId, 'audit: deleted by the caller')
  const variants = await env.app.db.selectFrom('productVariants').select('deletedAt').where('productId', '=', product.id).execute()
  t.equal(variants.length, 2)
  t.ok(variants.every((v) => v.deletedAt !== null), 'its variants are retired with it')

  const buyer = await shopper(env)
  const cart = await env.app.inject({ method: 'POST', url: '/cart/items', headers: buyer.session.headers, payload: { variantId: product.variants[0].id, quantity: 1 } })
  t.ok(cart.statusCode >= 400 && cart.statusCode < 500, `a deleted product's variant cannot be added to a cart (${cart.statusCode})`)
})

t.test('images: sniffed from the bytes, served with nosniff, reordered, deleted by the worker', async (t) => {
  const env = await createTestEnv(t, { worker: true })
  const store = await approvedStore(env)
  const { upload, reorder, removeImage, get } = api(env, store)
  const product = await createProduct(env, store, { title: 'Poster' })
  // Through the app's store (the local disk, or S3 on the topology run), not a folder.
  const files = watchStorage(env)

  const first = await upload(product.id, [image(PNG, 'photo.txt', 'text/plain'), image(JPEG, 'b.jpg', 'image/jpeg')])
  t.equal(first.statusCode, 201)
  const added = first.json().images
  t.same(added.map((i: any) => i.position), [0, 1], 'positions in upload order')
  t.match(added[0].url, /\/files\/[0-9a-f-]{36}\.png$/, 'a PNG named photo.txt, declared text/plain, is stored as a PNG under a generated name')
  t.match(added[1].url, /\/files\/[0-9a-f-]{36}\.jpg$/)
  t.notMatch(added[0].url, /photo/, 'never the client\'s file name')

  const served = await env.app.inject({ method: 'GET', url: fileUrl(added[0].url) })
  t.equal(served.statusCode, 200, 'served at the returned url')
  t.equal(served.headers['content-type'], 'image/png')
  t.equal(served.headers['x-content-type-options'], 'nosniff')
  t.equal(served.headers['content-disposition'], undefined, 'an image is shown inline')
  t.same(served.rawPayload, PNG, 'the same bytes')

  const second = await upload(product.id, [image(WEBP, 'c.webp', 'image/webp')])
  t.equal(second.statusCode, 201)
  t.same(second.json().images.map((i: any) => i.position), [0, 1, 2], 'the response lists all images, the new one last')
  const images = second.json().images
  t.same((await get(product.id)).json().images, images, 'the product shows them')
  t.same((await env.app.inject({ method: 'GET', url: `/products/${product.id}` })).json().images, images, 'and so does the catalog')

  t.equal((await files.stored()).length, 3, 'three files stored')
  const refusals: Array<[string, FilePart[], number]> = [
    ['a text file named x.png, declared image/png', [image(Buffer.from('just some text, not an image'), 'x.png', 'image/png')], 415],
    ['HTML declared image/png', [image(HTML, 'x.png', 'image/png')], 415],
    ['a PDF', [image(PDF, 'x.pdf', 'application/pdf')], 415],
    ['a good PNG followed by a text file', [image(PNG), image(Buffer.from('not an image'), 'y.png')], 415],
    ['six files in one request', Array.from({ length: 6 }, (_, i) => image(PNG, `${i}.png`)), 413]
  ]
  for (const [label, files, status] of refusals) {
    const res = await upload(product.id, files)
    t.equal(res.statusCode, status, `${label}: ${status}`)
    t.match(res.headers['content-type'], /application\/problem\+json/)
    if (status === 415) t.equal(res.json().errors[0].pointer, '/body/images', `${label}: names the field`)
  }
  const five = await upload(product.id, Array.from({ length: 5 }, (_, i) => image(i % 2 ? JPEG : PNG, `${i}.png`)))
  t.equal(five.statusCode, 201, 'five files in one request are fine')
  t.equal(five.json().images.length, 8)
  const noFile = await env.app.inject({ method: 'POST', url: `/workspaces/${store.workspaceId}/products/${product.id}/images`, ...withFiles(store.owner.headers, [], { note: 'no file' }) })
  t.equal(noFile.statusCode, 400, 'a request without a file: 400')
  const notMultipart = await env.app.inject({ method: 'POST', url: `/workspaces/${store.workspaceId}/products/${product.id}/images`, headers: store.owner.headers, payload: { images: [] } })
  t.ok(notMultipart.statusCode >= 400 && notMultipart.statusCode < 500, `JSON instead of multipart: a 4xx (${notMultipart.statusCode})`)
  const toUnknown = await upload(randomUUID(), [image(PNG)])
  t.equal(toUnknown.statusCode, 404, 'to an unknown product: 404')

  // Five good images were added; everything refused left no file behind.
  const all = (await get(product.id)).json().images
  t.equal(all.length, 8)
  t.same((await files.stored()).sort(), all.map((i: any) => publicKey(i.url)).sort(), 'the store holds exactly the product\'s images')
  t.same(files.leftTemporaryFiles(), [], 'no temporary file is left')
  t.equal((await env.app.db.selectFrom('productImages').select('id').where('productId', '=', product.id).execute()).length, 8)

  // Reorder: reversed.
  const reversed = all.map((i: any) => i.id).reverse()
  const reordered = await reorder(product.id, reversed)
  t.equal(reordered.statusCode, 200)
  t.same(reordered.json().images.map((i: any) => i.id), reversed, 'the new order')
  t.same(reordered.json().images.map((i: any) => i.position), [0, 1, 2, 3, 4, 5, 6, 7], 'positions renumbered')
  t.same((await get(product.id)).json().images.map((i: any) => i.id), reversed, 'persisted')
  const wrong: Array<[string, unknown]> = [
    ['one image missing', reversed.slice(1)],
    ['an unknown id', [...reversed.slice(1), randomUUID()]],
    ['an id twice', [...reversed.slice(1), reversed[1]]],
    ['an extra id', [...reversed, randomUUID()]],
    ['not an array', reversed[0]],
    ['an empty list', []]
  ]
  for (const [label, order] of wrong) {
    const res = await reorder(product.id, order)
    t.equal(res.statusCode, 400, `reorder with ${label}: 400`)
    t.ok(res.json().errors?.some((e: any) => e.pointer.startsWith('/body/order')), `${label}: names /body/order`)
  }
  t.same((await get(product.id)).json().images.map((i: any) => i.id), reversed, 'wrong lists changed nothing')

  // Delete one image: 204, gone from the product, and the worker removes its file.
  const victim = reordered.json().images[0]
  const victimKey = publicKey(victim.url)
  t.ok(await isStored(env, victimKey), 'the file is stored')
  const deleted = await removeImage(product.id, victim.id)
  t.equal(deleted.statusCode, 204)
  t.notOk((await get(product.id)).json().images.some((i: any) => i.id === victim.id), 'gone from the product')
  await eventually(async () => !await isStored(env, victimKey))
  t.notOk(await isStored(env, victimKey), 'the worker removed the file')
  t.equal((await env.app.inject({ method: 'GET', url: fileUrl(victim.url) })).statusCode, 404, 'and it is no longer served')
  t.equal((await removeImage(product.id, victim.id)).statusCode, 404, 'deleting it again: 404')
  const left = (await get(product.id)).json().images
  t.equal(left.length, 7)
  const otherProduct = await createProduct(env, store, { title: 'Other' })
  t.equal((await removeImage(otherProduct.id, left[0].id)).statusCode, 404, 'an image through another product: 404')
  t.equal((await reorder(otherProduct.id, [left[0].id])).statusCode, 400, 'another product\'s image cannot be ordered into this one')

  // Deleting the product removes all its files, through the worker too.
  const keys: string[] = left.map((i: any) => publicKey(i.url))
  t.same(await storedOf(env, keys), keys, 'its other files are stored')
  t.equal((await api(env, store).remove(product.id)).statusCode, 204)
  await eventually(async () => (await storedOf(env, keys)).length === 0)
  t.same(await storedOf(env, keys), [], 'the product\'s files are removed after it is deleted')
  t.equal((await upload(product.id, [image(PNG)])).statusCode, 404, 'a deleted product takes no images')
})

t.test('who may manage products: members of the workspace, nobody else', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const rival = await approvedStore(env)
  const product = await createProduct(env, store, { title: 'Guarded' })
  const customer = await shopper(env)
  const memberUser = await createUser(env, { type: 'vendor', name: 'Member' })
  await env.app.db.insertInto('workspaceMembers').values({ workspaceId: store.workspaceId, userId: memberUser.id, role: 'member' }).execute()
  const member = await login(env.app, memberUser.email)
  const adminUser = await createUser(env, { type: 'vendor', name: 'Admin' })
  await env.app.db.insertInto('workspaceMembers').values({ workspaceId: store.workspaceId, userId: adminUser.id, role: 'admin' }).execute()
  const admin = await login(env.app, adminUser.email)

  const base = `/workspaces/${store.workspaceId}/products`
  const imageId = randomUUID()
  const routes = [
    { method: 'GET', url: base },
    { method: 'POST', url: base, payload: { title: 'Intruder', price: { amount: 100, currency: 'usd' }, variants: [{ sku: sku('IN'), stock: 1 }] } },
    { method: 'GET', url: `${base}/${product.id}` },
    { method: 'PATCH', url: `${base}/${product.id}`, payload: { title: 'Defaced' } },
    { method: 'POST', url: `${base}/${product.id}/images`, ...multipart([image(PNG)]) },
    { method: 'PATCH', url: `${base}/${product.id}/images`, payload: { order: [imageId] } },
    { method: 'DELETE', url: `${base}/${product.id}/images/${imageId}` },
    { method: 'DELETE', url: `${base}/${product.id}` }
  ] as const
  const before = await rowCounts(env)
  for (const [who, headers] of [['a signed-in customer', customer.session.headers], ['another workspace\'s owner', rival.owner.headers]] as const) {
    for (const route of routes) {
      const res = await env.app.inject({ ...route, headers: { ...headers, ...('headers' in route ? route.headers : {}) } } as never)
      t.equal(res.statusCode, 404, `${route.method} ${route.url.replace(store.workspaceId, ':wid')} as ${who}: 404`)
      t.match(res.json().detail, /workspace not found/, 'indistinguishable from a missing workspace')
    }
  }
  for (const route of routes) {
    const res = await env.app.inject({ method: route.method, url: route.url })
    t.equal(res.statusCode, 401, `${route.method} without a token: 401`)
  }
  t.same(await rowCounts(env), before, 'outsiders changed nothing')
  t.equal((await api(env, store).get(product.id)).json().title, 'Guarded')

  // products:write belongs to every role (SPEC 7.1): a member and an admin manage products.
  for (const [who, headers] of [['member', member.headers], ['admin', admin.headers]] as const) {
    const created = await env.app.inject({ method: 'POST', url: base, headers, payload: { title: `By ${who}`, price: { amount: 100, currency: 'usd' }, variants: [{ sku: sku(who), stock: 1 }] } })
    t.equal(created.statusCode, 201, `a ${who} creates a product`)
    const row = await env.app.db.selectFrom('products').select('createdBy').where('id', '=', created.json().id).executeTakeFirstOrThrow()
    t.equal(row.createdBy, who === 'member' ? memberUser.id : adminUser.id, 'created by them')
    t.equal((await env.app.inject({ method: 'PATCH', url: `${base}/${product.id}`, headers, payload: { title: `Edited by ${who}` } })).statusCode, 200, `a ${who} edits`)
  }

  // Removing the membership takes effect on the next request.
  await env.app.db.deleteFrom('workspaceMembers').where('userId', '=', memberUser.id).execute()
  t.equal((await env.app.inject({ method: 'GET', url: base, headers: member.headers })).statusCode, 404, 'a removed member: 404')
  // A deleted workspace's products cannot be managed any more.
  await env.app.db.updateTable('workspaces').set({ deletedAt: new Date() }).where('id', '=', store.workspaceId).execute()
  t.equal((await env.app.inject({ method: 'GET', url: base, headers: store.owner.headers })).statusCode, 404, 'a deleted workspace: 404, even for its owner')
})
