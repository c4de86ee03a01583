import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { createTestEnv } from '../helpers/app.ts'
import { multipart, PNG, JPEG, WEBP, PDF, HTML } from '../helpers/multipart.ts'
import { acceptUploads, storeUpload, IMAGE_TYPES, DOCUMENT_TYPES } from '../../src/platform/uploads.ts'
import { BadRequest } from '../../src/platform/errors.ts'

// An upload route of the test's own around the platform's storeUpload; GET /files/:key is the real one.
async function uploadRoutes (app: FastifyInstance) {
  await acceptUploads(app)
  for (const [path, accept] of [['/test/images', IMAGE_TYPES], ['/test/documents', DOCUMENT_TYPES]] as const) {
    app.post(path, async (request) => {
      const stored = []
      for await (const part of request.files()) {
        stored.push(await storeUpload(app.storage, part, { accept, visibility: 'public', maxBytes: app.config.uploadMaxBytes }))
      }
      if (stored.length === 0) throw BadRequest('VALIDATION_FAILED', 'file is required')
      return { files: stored }
    })
  }
}

async function filesUnder (dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch {
    return []
  }
}

t.test('images are accepted by content and served back with their type and nosniff', async (t) => {
  const { app } = await createTestEnv(t, { plugins: [uploadRoutes] })
  for (const [content, type] of [[PNG, 'image/png'], [JPEG, 'image/jpeg'], [WEBP, 'image/webp']] as const) {
    // The declared type and the name are deliberately wrong: only the bytes count.
    const body = multipart([{ field: 'file', filename: 'upload.bin', contentType: 'application/octet-stream', content }])
    const res = await app.inject({ method: 'POST', url: '/test/images', ...body })
    t.equal(res.statusCode, 200, type)
    const [file] = res.json().files
    t.equal(file.contentType, type)
    t.match(file.key, /^public\/[0-9a-f-]{36}\.(png|jpg|webp)$/, 'a generated name, not the client file name')

    const served = await app.inject({ method: 'GET', url: `/files/${file.key.replace('public/', '')}` })
    t.equal(served.statusCode, 200)
    t.equal(served.headers['content-type'], type)
    t.equal(served.headers['x-content-type-options'], 'nosniff')
    t.equal(served.headers['content-disposition'], undefined, 'images display inline')
    t.same(served.rawPayload, content, 'the same bytes come back')
  }
})

t.test('a PDF is served as an attachment', async (t) => {
  const { app } = await createTestEnv(t, { plugins: [uploadRoutes] })
  const res = await app.inject({ method: 'POST', url: '/test/documents', ...multipart([{ field: 'file', filename: 'c.pdf', contentType: 'application/pdf', content: PDF }]) })
  t.equal(res.statusCode, 200)
  const served = await app.inject({ method: 'GET', url: `/files/${res.json().files[0].key.replace('public/', '')}` })
  t.equal(served.headers['content-type'], 'application/pdf')
  t.equal(served.headers['content-disposition'], 'attachment')
})

t.test('disguised files are refused with 415 and leave nothing behind', async (t) => {
  const { app, config } = await createTestEnv(t, { plugins: [uploadRoutes] })
  for (const [name, content] of [['text', Buffer.from('just some text, not an image')], ['html', HTML], ['pdf', PDF]] as const) {
    const body = multipart([{ field: 'file', filename: 'x.png', contentType: 'image/png', content }])
    const res = await app.inject({ method: 'POST', url: '/test/images', ...body })
    t.equal(res.statusCode, 415, `${name} named x.png`)
    t.match(res.headers['content-type'], /application\/problem\+json/)
    t.equal(res.json().code, 'UNSUPPORTED_MEDIA_TYPE')
    t.equal(res.json().errors[0].pointer, '/body/file')
  }
  t.same(await filesUnder(join(config.uploadDir, 'public')), [], 'nothing was stored')
  t.same(await filesUnder(join(config.uploadDir, 'tmp')), [], 'no temporary file is left')
})

t.test('a file over the limit gets 413 and leaves no temporary file', async (t) => {
  const { app, config } = await createTestEnv(t, { plugins: [uploadRoutes], config: { uploadMaxBytes: 4096 } })
  const big = Buffer.concat([PNG, Buffer.alloc(10_000, 1)])
  const res = await app.inject({ method: 'POST', url: '/test/images', ...multipart([{ field: 'file', filename: 'big.png', contentType: 'image/png', content: big }]) })
  t.equal(res.statusCode, 413)
  t.equal(res.json().code, 'PAYLOAD_TOO_LARGE')
  t.same(await filesUnder(join(config.uploadDir, 'tmp')), [], 'no temporary file is left')
  t.same(await filesUnder(join(config.uploadDir, 'public')), [], 'nothing was stored')
})

t.test('more than five files in one request are refused', async (t) => {
  const { app } = await createTestEnv(t, { plugins: [uploadRoutes] })
  const files = Array.from({ length: 6 }, (_, i) => ({ field: 'file', filename: `${i}.png`, contentType: 'image/png', content: PNG }))
  const res = await app.inject({ method: 'POST', url: '/test/images', ...multipart(files) })
  t.equal(res.statusCode, 413)
  t.equal(res.json().code, 'TOO_MANY_FILES')
})

t.test('unknown or malformed keys are 404', async (t) => {
  const { app } = await createTestEnv(t)
  t.equal((await app.inject({ method: 'GET', url: '/files/01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f.png' })).statusCode, 404)
  const traversal = await app.inject({ method: 'GET', url: '/files/..%2F..%2Fsecrets.json' })
  t.equal(traversal.statusCode, 400, 'a key that is not ours fails validation')
})
