import pg from 'pg'
import t from 'tap'
import { createTestEnv, eventually, type TestEnv } from '../../helpers/app.ts'
import { approvedStore, createProduct } from '../../helpers/commerce.ts'
import { multipart, JPEG, PNG, WEBP } from '../../helpers/multipart.ts'
import { isStored, publicKey, storedOf, watchStorage } from '../../helpers/stored-files.ts'
import { createFilesProcessor } from '../../../src/jobs/files.ts'

// Deleting a workspace takes its products with it, and their images leave storage: the keys go
// to the outbox in the deleting transaction and the real worker removes the files.

t.test('deleting a workspace removes its product images from storage (through the outbox and the worker)', async (t) => {
  const env = await createTestEnv(t, { worker: true })
  const store = await approvedStore(env)
  const other = await approvedStore(env)
  const upload = async (workspaceId: string, headers: Record<string, string>, productId: string, files: Buffer[]) => {
    const body = multipart(files.map((content, i) => ({ field: 'images', filename: `p${i}.img`, contentType: 'application/octet-stream', content })))
    const res = await env.app.inject({ method: 'POST', url: `/workspaces/${workspaceId}/products/${productId}/images`, payload: body.payload, headers: { ...headers, ...body.headers } })
    t.equal(res.statusCode, 201, res.body)
    return res.json().images as Array<{ url: string }>
  }

  const shirt = await createProduct(env, store, { title: 'Shirt' })
  const hat = await createProduct(env, store, { title: 'Hat' })
  const mine = [...await upload(store.workspaceId, store.owner.headers, shirt.id, [PNG, JPEG]), ...await upload(store.workspaceId, store.owner.headers, hat.id, [WEBP])]
  const theirsProduct = await createProduct(env, other, { title: 'Other' })
  const theirs = await upload(other.workspaceId, other.owner.headers, theirsProduct.id, [PNG])
  // Through the app's store (the local disk, or S3 on the topology run), not a folder.
  for (const image of [...mine, ...theirs]) t.ok(await isStored(env, publicKey(image.url)), 'stored before')

  const res = await env.app.inject({ method: 'DELETE', url: `/workspaces/${store.workspaceId}`, headers: store.owner.headers })
  t.equal(res.statusCode, 204)

  const stillStored = () => storedOf(env, mine.map((image) => publicKey(image.url)))
  await eventually(async () => (await stillStored()).length === 0, 15000)
  t.same(await stillStored(), [], 'every image of the deleted workspace is gone from storage')
  for (const image of mine) {
    t.equal((await env.app.inject({ method: 'GET', url: new URL(image.url).pathname })).statusCode, 404, 'and no longer served')
  }
  t.ok(await isStored(env, publicKey(theirs[0]!.url)), 'another workspace\'s images stay')

  const products = await env.app.db.selectFrom('products').select(['id', 'deletedAt']).where('workspaceId', '=', store.workspaceId).execute()
  t.equal(products.length, 2)
  t.ok(products.every((p) => p.deletedAt !== null), 'its products are deleted with it')
  const images = await env.app.db.selectFrom('productImages').select('id').where('productId', 'in', [shirt.id, hat.id]).execute()
  t.same(images, [], 'no image rows point at removed files')
  const live = await env.app.db.selectFrom('productVariants').select('id').where('workspaceId', '=', store.workspaceId).where('deletedAt', 'is', null).execute()
  t.same(live, [], 'its variants are retired')
})

// ---- Races with the deletion: nothing the workspace owned may outlive it ----

/** A connection outside the app, to hold locks while requests queue behind them. */
async function blocker (env: TestEnv) {
  const client = new pg.Client({ connectionString: env.config.databaseUrl })
  await client.connect()
  // Statistics are a snapshot per transaction: cleared, so a poll inside one sees the present.
  const waiting = async () => Number((await client.query('select pg_stat_clear_snapshot()').then(() => client.query(`select count(*)::int as n from pg_stat_activity
    where datname = current_database() and wait_event_type = 'Lock'`))).rows[0].n)
  return {
    client,
    /** Resolves once `n` backends wait on a lock, or once `settled` resolves first. */
    waitForWaiters: (n: number, settled?: Promise<unknown>) => {
      let done = false
      settled?.then(() => { done = true }, () => { done = true })
      return eventually(async () => done || (await waiting()) >= n, 10000, 20)
    }
  }
}

t.test('a product created while its workspace is being deleted does not outlive the workspace', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const { client, waitForWaiters } = await blocker(env)
  t.teardown(() => client.end())

  // Hold an uncommitted variant with the SKU the new product wants: its creation inserts the
  // product, then waits on the SKU index, still uncommitted, while the deletion runs.
  await client.query('begin')
  const heldProduct = env.app.random.uuid()
  await client.query('insert into products (id, workspace_id, title, price_amount, currency) values ($1, $2, $3, 100, $4)', [heldProduct, store.workspaceId, 'held', 'usd'])
  await client.query('insert into product_variants (id, product_id, workspace_id, sku, stock) values ($1, $2, $3, $4, 1)', [env.app.random.uuid(), heldProduct, store.workspaceId, 'RACE-1'])

  const created = env.app.inject({
    method: 'POST',
    url: `/workspaces/${store.workspaceId}/products`,
    headers: store.owner.headers,
    payload: { title: 'Late product', price: { amount: 100, currency: 'usd' }, variants: [{ sku: 'RACE-1', stock: 3 }] }
  })
  await waitForWaiters(1, created)
  const deleted = env.app.inject({ method: 'DELETE', url: `/workspaces/${store.workspaceId}`, headers: store.owner.headers })
  await waitForWaiters(2, deleted)
  await client.query('rollback')
  const [create, del] = await Promise.all([created, deleted])

  t.equal(del.statusCode, 204, 'the workspace is deleted')
  t.ok([201, 404].includes(create.statusCode), `the creation either landed before the deletion or is refused (${create.statusCode})`)
  const live = await env.app.db.selectFrom('products').select(['id', 'title']).where('workspaceId', '=', store.workspaceId).where('deletedAt', 'is', null).execute()
  t.same(live, [], 'no live product is left in the deleted workspace')
  const variants = await env.app.db.selectFrom('productVariants').select('id').where('workspaceId', '=', store.workspaceId).where('deletedAt', 'is', null).execute()
  t.same(variants, [], 'no live variant either')

  const after = await env.app.inject({
    method: 'POST',
    url: `/workspaces/${store.workspaceId}/products`,
    headers: store.owner.headers,
    payload: { title: 'Too late', price: { amount: 100, currency: 'usd' }, variants: [{ sku: 'LATE-1', stock: 1 }] }
  })
  t.equal(after.statusCode, 404, 'a deleted workspace takes no new products')
})

t.test('a logo uploaded while the workspace is being deleted is removed with it', async (t) => {
  const env = await createTestEnv(t, { worker: true })
  const store = await approvedStore(env)
  const files = watchStorage(env)
  const uploadLogo = () => {
    const body = multipart([{ field: 'logo', filename: 'logo.png', contentType: 'image/png', content: PNG }])
    return env.app.inject({ method: 'PUT', url: `/workspaces/${store.workspaceId}/logo`, payload: body.payload, headers: { ...store.owner.headers, ...body.headers } })
  }
  const first = await uploadLogo()
  t.equal(first.statusCode, 200)

  const { client, waitForWaiters } = await blocker(env)
  t.teardown(() => client.end())
  // Both requests reach the workspace row while another transaction holds it, then run in turn.
  await client.query('begin')
  await client.query('select id from workspaces where id = $1 for update', [store.workspaceId])
  const logo = uploadLogo()
  await waitForWaiters(1, logo)
  const deleted = env.app.inject({ method: 'DELETE', url: `/workspaces/${store.workspaceId}`, headers: store.owner.headers })
  await waitForWaiters(2, deleted)
  await client.query('commit')
  const [second, del] = await Promise.all([logo, deleted])
  t.equal(del.statusCode, 204)

  const urls = [first.json().logoUrl as string, ...(second.statusCode === 200 ? [second.json().logoUrl as string] : [])]
  await eventually(async () => (await files.stored()).length === 0, 15000).catch(() => {})
  for (const url of urls) t.notOk(await isStored(env, publicKey(url)), `${url} is gone from storage`)
  t.same(await files.stored(), [], 'no logo file is left behind')
})

t.test('deleting a workspace twice at once deletes it once: one 204, one 404, one removal job per file', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { title: 'Twice' })
  const body = multipart([{ field: 'images', filename: 'p.png', contentType: 'image/png', content: PNG }])
  t.equal((await env.app.inject({ method: 'POST', url: `/workspaces/${store.workspaceId}/products/${product.id}/images`, payload: body.payload, headers: { ...store.owner.headers, ...body.headers } })).statusCode, 201)
  const answers = await Promise.all([0, 1, 2].map(() => env.app.inject({ method: 'DELETE', url: `/workspaces/${store.workspaceId}`, headers: store.owner.headers })))
  const codes = answers.map((a) => a.statusCode).sort()
  t.equal(codes.filter((c) => c === 204).length, 1, `one deletion wins (${codes.join(', ')})`)
  t.ok(codes.every((c) => c === 204 || c === 404), 'the others find no workspace')
  const jobs = await env.app.db.selectFrom('outbox').select('payload').where('queue', '=', 'files').execute()
  const keys = jobs.flatMap((j) => (j.payload as { keys: string[] }).keys)
  t.equal(keys.length, new Set(keys).size, 'each file is queued for removal once')
  t.equal(keys.length, 1, 'the product image')
})

t.test('the removal job is safe to run twice: a retried job after a crash finds the files gone and succeeds', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { title: 'Retry' })
  const body = multipart([{ field: 'images', filename: 'p.png', contentType: 'image/png', content: PNG }, { field: 'images', filename: 'q.webp', contentType: 'image/webp', content: WEBP }])
  const images = (await env.app.inject({ method: 'POST', url: `/workspaces/${store.workspaceId}/products/${product.id}/images`, payload: body.payload, headers: { ...store.owner.headers, ...body.headers } })).json().images as Array<{ url: string }>
  t.equal((await env.app.inject({ method: 'DELETE', url: `/workspaces/${store.workspaceId}`, headers: store.owner.headers })).statusCode, 204)
  const [job] = await env.app.db.selectFrom('outbox').select('payload').where('queue', '=', 'files').execute()
  const remove = createFilesProcessor({ storage: env.app.storage })
  const run = () => remove({ data: job!.payload } as never)
  t.same(await run(), { removed: 2 }, 'the first run removes both files')
  t.same(await run(), { removed: 2 }, 'a second run of the same job succeeds too')
  t.same(await storedOf(env, images.map((image) => publicKey(image.url))), [], 'both files are gone')
})

t.test('an invitation sent while the workspace is being deleted is revoked with the others', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const invite = () => env.app.inject({ method: 'POST', url: `/workspaces/${store.workspaceId}/invitations`, headers: store.owner.headers, payload: { email: 'late-invitee@example.com', role: 'member' } })
  const first = await invite()
  t.equal(first.statusCode, 201)

  const { client, waitForWaiters } = await blocker(env)
  t.teardown(() => client.end())
  // The re-invitation replaces the pending one: it waits on that row, as does the deletion's revoke.
  await client.query('begin')
  await client.query('select id from workspace_invitations where id = $1 for update', [first.json().id])
  const second = invite()
  await waitForWaiters(1, second)
  const deleted = env.app.inject({ method: 'DELETE', url: `/workspaces/${store.workspaceId}`, headers: store.owner.headers })
  await waitForWaiters(2, deleted)
  await client.query('commit')
  const [again, del] = await Promise.all([second, deleted])
  t.equal(del.statusCode, 204)
  t.ok([201, 404].includes(again.statusCode), `the invitation landed first or is refused (${again.statusCode})`)
  const pending = await env.app.db.selectFrom('workspaceInvitations').select(['id', 'email'])
    .where('workspaceId', '=', store.workspaceId).where('acceptedAt', 'is', null).where('revokedAt', 'is', null).execute()
  t.same(pending, [], 'no invitation to the deleted workspace is still pending')
})
