import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import t, { type Test } from 'tap'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { S3Storage } from '../../src/platform/s3-storage.ts'
import { newStorageKey, type StoredObject } from '../../src/platform/storage.ts'
import { createTestEnv, eventually, type TestEnv } from '../helpers/app.ts'
import { createUser, login } from '../helpers/auth.ts'
import { approvedStore, createProduct } from '../helpers/commerce.ts'
import { JPEG, multipart, PDF, PNG, WEBP } from '../helpers/multipart.ts'
import { startS3Server } from '../helpers/s3-server.ts'

// Object storage (issue 13): the S3 driver against a real S3-compatible server (s3rver, in a
// process of its own), then the app's upload behaviours through the API with S3 configured.

const s3 = await startS3Server()
t.teardown(() => s3.close())

const bytesOf = async (file: StoredObject) => Buffer.concat(await file.stream.toArray())

t.test('the S3 store keeps a file under its key: put, open, remove (twice), a missing key is null', async (t) => {
  const storage = new S3Storage(s3.config)
  t.teardown(() => storage.close())
  const key = newStorageKey('public', 'image/png')
  const temp = await storage.tempPath()
  writeFileSync(temp, PNG)
  await storage.put(key, temp)
  t.notOk(existsSync(temp), 'the temporary file is deleted once uploaded')
  t.ok((await s3.keys()).includes(key), 'the object is in the bucket')
  const stored = await s3.client.send(new GetObjectCommand({ Bucket: s3.config.bucket, Key: key }))
  t.equal(stored.ContentType, 'image/png', 'stored with its content type')
  t.same(Buffer.from(await stored.Body!.transformToByteArray()), PNG, 'byte for byte')

  const file = await storage.open(key)
  t.ok(file)
  t.equal(file!.size, PNG.length)
  t.equal(file!.contentType, 'image/png')
  t.same(await bytesOf(file!), PNG)

  await storage.remove(key)
  t.notOk((await s3.keys()).includes(key), 'removed from the bucket')
  t.equal(await storage.open(key), null, 'a removed key opens as null')
  await storage.remove(key)
  t.pass('removing it again succeeds')
  t.equal(await storage.open(newStorageKey('private', 'application/pdf')), null, 'a key never stored is null')
  t.equal(await storage.open('public/../../etc/passwd'), null, 'a key that is not ours is null, not asked for')
  await t.rejects(storage.remove('public/../x.png'), /invalid storage key/)
})

t.test('a misconfigured store fails loudly instead of answering "no such file"', async (t) => {
  const noBucket = new S3Storage({ ...s3.config, bucket: 'no-such-bucket' })
  // s3rver checks the access key id (not the V4 signature's secret).
  const stranger = new S3Storage({ ...s3.config, accessKeyId: 'NOT-OURS' })
  t.teardown(() => { noBucket.close(); stranger.close() })
  const key = newStorageKey('public', 'image/png')
  await t.rejects(noBucket.open(key), { name: 'NoSuchBucket' }, 'a missing bucket is an error, not a missing file')
  const temp = await stranger.tempPath()
  writeFileSync(temp, PNG)
  await t.rejects(stranger.put(key, temp), { name: 'InvalidAccessKeyId' }, 'the credentials are sent and checked')
  t.notOk(existsSync(temp), 'the temporary file is deleted even when the upload fails')
})

t.test('S3 settings: on with S3_BUCKET, credentials required together, half a configuration refused', async (t) => {
  const base = { NODE_ENV: 'test', DATA_DIR: mkdtempSync(join(tmpdir(), 'bazaar-s3-config-')) }
  t.teardown(() => rmSync(base.DATA_DIR, { recursive: true, force: true }))
  t.equal(loadConfig(base).storage.s3, undefined, 'unset: the local disk')
  const full = { ...base, S3_BUCKET: 'shop-files', S3_ENDPOINT: 'http://127.0.0.1:9000/', S3_ACCESS_KEY_ID: 'key', S3_SECRET_ACCESS_KEY: 'secret', S3_FORCE_PATH_STYLE: 'true' }
  t.same(loadConfig(full).storage.s3, { bucket: 'shop-files', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', accessKeyId: 'key', secretAccessKey: 'secret', forcePathStyle: true })
  t.same(loadConfig({ ...full, S3_ENDPOINT: undefined, S3_REGION: 'eu-west-3', S3_FORCE_PATH_STYLE: undefined }).storage.s3,
    { bucket: 'shop-files', endpoint: undefined, region: 'eu-west-3', accessKeyId: 'key', secretAccessKey: 'secret', forcePathStyle: false }, 'AWS: no endpoint, virtual-hosted')
  const refused: Array<[Record<string, string | undefined>, RegExp]> = [
    [{ ...full, S3_ACCESS_KEY_ID: undefined }, /^Invalid environment: S3_ACCESS_KEY_ID is required with S3_BUCKET/],
    [{ ...full, S3_SECRET_ACCESS_KEY: undefined }, /^Invalid environment: S3_SECRET_ACCESS_KEY is required with S3_BUCKET/],
    [{ ...full, S3_BUCKET: undefined }, /^Invalid environment: S3_BUCKET is required with S3_ENDPOINT/],
    [{ ...base, S3_ACCESS_KEY_ID: 'key', S3_SECRET_ACCESS_KEY: 'secret' }, /^Invalid environment: S3_BUCKET is required with S3_ACCESS_KEY_ID/],
    [{ ...full, S3_ENDPOINT: 'ftp://files' }, /^Invalid environment: S3_ENDPOINT must be a URL starting with http:\/\/ or https:\/\//],
    [{ ...full, S3_BUCKET: 'Not_A_Bucket' }, /^Invalid environment: S3_BUCKET must be an S3 bucket name/]
  ]
  for (const [env, message] of refused) t.throws(() => loadConfig(env), { constructor: ConfigError, message }, String(message))
  const production = { ...full, NODE_ENV: 'production', DATABASE_URL: 'postgres://db/bazaar', REDIS_URL: 'redis://redis', JWT_SECRET: 'j'.repeat(40), ENCRYPTION_KEY: 'e'.repeat(40), SMTP_URL: 'smtp://mail', STRIPE_SECRET_KEY: 'sk', STRIPE_WEBHOOK_SECRET: 'whsec', PUBLIC_URL: 'https://api.example.org' }
  t.ok(loadConfig(production).storage.s3, 'production takes it')
  t.throws(() => loadConfig({ ...production, S3_SECRET_ACCESS_KEY: undefined }), { message: /S3_SECRET_ACCESS_KEY is required/ }, 'and refuses half the credentials')
})

// ---- Through the API, with S3 configured ----

const s3Env = (t: Test): Promise<TestEnv> => createTestEnv(t, { worker: true, config: { storage: { s3: s3.config } } })

/** Nothing may land on this machine's disk: another API copy could not serve it. */
const nothingOnDisk = (t: Test, env: TestEnv) => t.notOk(existsSync(env.config.uploadDir), 'nothing was written to the local upload folder')

const fileKey = (url: string) => `public/${new URL(url).pathname.replace('/files/', '')}`

t.test('with S3: product images are stored in the bucket, served by the API, and removed by the worker', async (t) => {
  const env = await s3Env(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store, { title: 'Bucket tee' })
  const body = multipart([PNG, JPEG, WEBP].map((content, i) => ({ field: 'images', filename: `p${i}.bin`, contentType: 'application/octet-stream', content })))
  const res = await env.app.inject({ method: 'POST', url: `/workspaces/${store.workspaceId}/products/${product.id}/images`, payload: body.payload, headers: { ...store.owner.headers, ...body.headers } })
  t.equal(res.statusCode, 201, res.body)
  const images = res.json().images as Array<{ id: string, url: string }>
  const keys = images.map((image) => fileKey(image.url))
  t.match(keys, [/^public\/[0-9a-f-]{36}\.png$/, /^public\/[0-9a-f-]{36}\.jpg$/, /^public\/[0-9a-f-]{36}\.webp$/])
  const inBucket = await s3.keys()
  t.ok(keys.every((key) => inBucket.includes(key)), 'every image is an object in the bucket')

  for (const [i, [content, type]] of ([[PNG, 'image/png'], [JPEG, 'image/jpeg'], [WEBP, 'image/webp']] as const).entries()) {
    const served = await env.app.inject({ method: 'GET', url: new URL(images[i]!.url).pathname })
    t.equal(served.statusCode, 200)
    t.equal(served.headers['content-type'], type)
    t.equal(Number(served.headers['content-length']), content.length)
    t.equal(served.headers['cache-control'], 'public, max-age=31536000, immutable')
    t.same(served.rawPayload, content, `${type}: the same bytes come back`)
  }
  t.equal((await env.app.inject({ method: 'GET', url: '/files/01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f.png' })).statusCode, 404, 'a key not in the bucket is 404')

  // One image deleted, then the product with the other two: each removal goes through the outbox to the worker.
  const removed = await env.app.inject({ method: 'DELETE', url: `/workspaces/${store.workspaceId}/products/${product.id}/images/${images[0]!.id}`, headers: store.owner.headers })
  t.equal(removed.statusCode, 204, removed.body)
  await eventually(async () => !(await s3.keys()).includes(keys[0]!), 15000)
  t.notOk((await s3.keys()).includes(keys[0]!), 'the deleted image left the bucket')
  const remaining = await s3.keys()
  t.ok(keys.slice(1).every((key) => remaining.includes(key)), 'the others stay')
  t.equal((await env.app.inject({ method: 'GET', url: new URL(images[0]!.url).pathname })).statusCode, 404, 'and it is no longer served')

  t.equal((await env.app.inject({ method: 'DELETE', url: `/workspaces/${store.workspaceId}/products/${product.id}`, headers: store.owner.headers })).statusCode, 204)
  await eventually(async () => (await s3.keys()).every((key) => !keys.includes(key)), 15000)
  t.same((await s3.keys()).filter((key) => keys.includes(key)), [], 'deleting the product removed its images from the bucket')
  nothingOnDisk(t, env)
})

t.test('with S3: a workspace logo is stored in the bucket and replaced logos leave it', async (t) => {
  const env = await s3Env(t)
  const store = await approvedStore(env)
  const upload = async (content: Buffer) => {
    const body = multipart([{ field: 'logo', filename: 'logo.img', contentType: 'image/png', content }])
    const res = await env.app.inject({ method: 'PUT', url: `/workspaces/${store.workspaceId}/logo`, payload: body.payload, headers: { ...store.owner.headers, ...body.headers } })
    t.equal(res.statusCode, 200, res.body)
    return res.json().logoUrl as string
  }
  const first = await upload(PNG)
  const second = await upload(WEBP)
  const served = await env.app.inject({ method: 'GET', url: new URL(second).pathname })
  t.equal(served.headers['content-type'], 'image/webp')
  t.same(served.rawPayload, WEBP)
  t.ok((await s3.keys()).includes(fileKey(second)), 'the current logo is in the bucket')
  await eventually(async () => !(await s3.keys()).includes(fileKey(first)), 15000)
  t.notOk((await s3.keys()).includes(fileKey(first)), 'the replaced logo was removed by the worker')
  nothingOnDisk(t, env)
})

t.test('with S3: a vendor certificate is a private object, served only through the API\'s authorization', async (t) => {
  const env = await s3Env(t)
  const vendor = await createUser(env, { type: 'vendor' })
  const [owner, admin, stranger] = [await login(env.app, vendor.email), await login(env.app, (await createUser(env, { type: 'admin' })).email), await login(env.app, (await createUser(env)).email)]
  const profile = (await env.app.inject({ method: 'POST', url: '/vendor-profiles', headers: owner.headers, payload: { businessType: 'retailer', businessName: 'Private Papers' } })).json()
  const before = new Set(await s3.keys())
  const cert = multipart([{ field: 'businessRegistrationCertificate', filename: 'cert.pdf', contentType: 'application/pdf', content: PDF }])
  const res = await env.app.inject({ method: 'PUT', url: `/vendor-profiles/${profile.id}/files`, payload: cert.payload, headers: { ...owner.headers, ...cert.headers } })
  t.equal(res.statusCode, 200, res.body)

  const added = (await s3.keys()).filter((key) => !before.has(key))
  t.match(added, [/^private\/[0-9a-f-]{36}\.pdf$/], 'stored under a private key')
  const url = `/vendor-profiles/${profile.id}/certificate`
  const asVendor = await env.app.inject({ method: 'GET', url, headers: owner.headers })
  t.equal(asVendor.statusCode, 200)
  t.equal(asVendor.headers['content-type'], 'application/pdf')
  t.equal(asVendor.headers['cache-control'], 'private, no-store')
  t.same(asVendor.rawPayload, PDF, 'the vendor gets the bytes')
  t.same((await env.app.inject({ method: 'GET', url, headers: admin.headers })).rawPayload, PDF, 'so do admins')
  t.equal((await env.app.inject({ method: 'GET', url, headers: stranger.headers })).statusCode, 404, 'another user gets 404')
  t.equal((await env.app.inject({ method: 'GET', url })).statusCode, 404, 'anonymous gets 404')
  const asPublicFile = await env.app.inject({ method: 'GET', url: `/files/${added[0]!.replace('private/', '')}` })
  t.equal(asPublicFile.statusCode, 404, 'the public file route never reaches a private object')

  t.equal((await env.app.inject({ method: 'DELETE', url: `/vendor-profiles/${profile.id}`, headers: owner.headers })).statusCode, 204)
  await eventually(async () => !(await s3.keys()).includes(added[0]!), 15000)
  t.notOk((await s3.keys()).includes(added[0]!), 'deleting the profile removes the certificate from the bucket')
  nothingOnDisk(t, env)
})
