import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { problems } from '../../platform/errors.ts'
import { cacheablePublicReads, NotModified } from '../../platform/http-cache.ts'
import { StoreParams, StoreView } from './schemas.ts'
import { getStore } from './stores.ts'

/** GET /stores/:slug: public and cacheable like the catalog (ETag, 304, the API's copy dropped by every catalog-changing write). */
const storeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { deps } = app
  const stores = app.withTypeProvider<TypeBoxTypeProvider>()
  await cacheablePublicReads(stores)

  stores.get('/stores/:slug', {
    schema: {
      operationId: 'getStore',
      tags: ['catalog'],
      summary: 'A store\'s public page: name, slug, logo, colour, since when',
      description: 'Public. A store that sells now (live, its owner active with an approved vendor profile); anything else (unknown, deleted, pending review, suspended owner) is 404. ' +
        'A slug of the wrong shape (upper case, other characters, over 48 characters) is 400. The answer is the same for everyone: it carries an ETag, and a matching If-None-Match gets 304.',
      params: StoreParams,
      response: { 200: StoreView, 304: NotModified, ...problems(404) }
    }
  }, async (request) => getStore(deps, request.params.slug))
}

export default storeRoutes
