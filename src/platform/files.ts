import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { NotFound, problems } from './errors.ts'

// SPEC 8.2: public files by key, with the type sniffed at upload, nosniff, and anything that is
// not an image served as an attachment so a browser never renders it as a page.

const FileParams = Type.Object({
  key: Type.String({ pattern: '^[0-9a-f-]{36}\\.[a-z0-9]{2,5}$', description: 'key returned by an upload', examples: ['01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f.png'] })
})

const files: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/files/:key', {
    schema: {
      operationId: 'downloadFile',
      tags: ['files'],
      summary: 'Download a public file',
      description: 'Public uploads (product images, logos) by the key in their URL, with their sniffed content type; cached for a year (keys never change content).',
      params: FileParams,
      produces: ['image/png', 'image/jpeg', 'image/webp', 'application/pdf'],
      response: {
        // A plain schema, not TypeBox: the body is a byte stream, not a JSON string.
        200: { type: 'string', format: 'binary', description: 'the file, with its sniffed content type' } as const,
        ...problems(404)
      }
    }
  }, async (request, reply) => {
    const file = await app.storage.open(`public/${request.params.key}`)
    if (!file) throw NotFound('NOT_FOUND', 'file not found')
    reply
      .type(file.contentType)
      .header('content-length', file.size)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'public, max-age=31536000, immutable')
    if (!file.contentType.startsWith('image/')) reply.header('content-disposition', 'attachment')
    return reply.send(file.stream)
  })
}

export default files
