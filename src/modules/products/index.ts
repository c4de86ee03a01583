import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { BadRequest, problems } from '../../platform/errors.ts'
import { cacheablePublicReads, NotModified } from '../../platform/http-cache.ts'
import { Page } from '../../platform/pagination.ts'
import { principalOf } from '../../platform/principal.ts'
import { acceptUploads, IMAGE_TYPES, storeUpload, withStoredUploads } from '../../platform/uploads.ts'
import { getCatalogProduct, listCategories, searchCatalog } from './catalog.ts'
import { addProductImages, deleteProductImage, reorderProductImages } from './images.ts'
import { createProduct, deleteProduct, getWorkspaceProduct, listWorkspaceProducts, updateProduct } from './manage.ts'
import {
  CatalogQuery, Categories, CreateProductBody, ImageOrderBody, ImageParams, ImageView, ManageListQuery, ProductParams, ProductRef,
  UpdateProductBody, WorkspaceParams, WorkspaceProductParams
} from './schemas.ts'

const products: FastifyPluginAsyncTypebox = async (app) => {
  const { deps } = app
  await acceptUploads(app)

  // The public catalog: the same answer for everyone, so browsers and CDNs may keep it (ETag, 304).
  await app.register(async (scope) => {
    const catalog = scope.withTypeProvider<TypeBoxTypeProvider>()
    await cacheablePublicReads(catalog)

    catalog.get('/products', {
      schema: {
        tags: ['catalog'],
        summary: 'Search the catalog (active products of approved vendors)',
        description: 'q is Postgres full-text search (title, keywords, description; ranked). Keyset pagination: pass nextCursor back with the same filters and sort.',
        querystring: CatalogQuery,
        response: { 200: Page(ProductRef), 304: NotModified }
      }
    }, async (request) => searchCatalog(deps, request.query))

    catalog.get('/products/:id', {
      schema: { tags: ['catalog'], summary: 'A product of the catalog', params: ProductParams, response: { 200: ProductRef, 304: NotModified, ...problems(404) } }
    }, async (request) => getCatalogProduct(deps, request.params.id))

    catalog.get('/categories', {
      schema: { tags: ['catalog'], summary: 'Categories in the catalog, with how many products each has', response: { 200: Categories, 304: NotModified } }
    }, async () => ({ items: await listCategories(deps) }))
  })

  const manage = { auth: 'user', workspace: 'products:write' } as const
  // Writes that change what the public catalog shows: they invalidate the API's copy of it.
  const write = { ...manage, changesCatalog: true } as const
  const tags = ['products']

  app.get('/workspaces/:wid/products', {
    config: manage,
    schema: { tags, summary: 'The workspace\'s products, inactive ones included', params: WorkspaceParams, querystring: ManageListQuery, response: { 200: Page(ProductRef), 304: NotModified } }
  }, async (request) => listWorkspaceProducts(deps, request.params.wid, request.query))

  app.post('/workspaces/:wid/products', {
    config: write,
    schema: { tags, summary: 'Create a product with its variants', params: WorkspaceParams, body: CreateProductBody, response: { 201: ProductRef, ...problems(409) } }
  }, async (request, reply) => reply.code(201).send(await createProduct(deps, principalOf(request), request.params.wid, request.body)))

  app.get('/workspaces/:wid/products/:id', {
    config: manage,
    schema: { tags, summary: 'A product of the workspace', params: WorkspaceProductParams, response: { 200: ProductRef } }
  }, async (request) => getWorkspaceProduct(deps, request.params.wid, request.params.id))

  app.patch('/workspaces/:wid/products/:id', {
    config: write,
    schema: { tags, summary: 'Update a product; variants, when given, are the full new list', params: WorkspaceProductParams, body: UpdateProductBody, response: { 200: ProductRef, ...problems(409) } }
  }, async (request) => updateProduct(deps, principalOf(request), request.params.wid, request.params.id, request.body))

  app.delete('/workspaces/:wid/products/:id', {
    config: write,
    schema: { tags, summary: 'Delete a product (soft; its images are removed)', params: WorkspaceProductParams, response: { 204: Type.Null() } }
  }, async (request, reply) => {
    await deleteProduct(deps, principalOf(request), request.params.wid, request.params.id)
    return reply.code(204).send(null)
  })

  app.post('/workspaces/:wid/products/:id/images', {
    config: write,
    schema: {
      tags,
      summary: 'Add up to 5 images per request (JPEG, PNG or WebP, judged by content)',
      consumes: ['multipart/form-data'],
      params: WorkspaceProductParams,
      response: { 201: Type.Object({ images: Type.Array(ImageView) }), ...problems(409, 413, 415) }
    }
  }, async (request, reply) => {
    const images = await withStoredUploads(app, async (stored) => {
      for await (const part of request.files()) {
        stored.push(await storeUpload(app.storage, part, { accept: IMAGE_TYPES, visibility: 'public', maxBytes: app.config.uploadMaxBytes }))
      }
      if (stored.length === 0) throw BadRequest('VALIDATION_FAILED', 'Send at least one image file.', { field: '/body/images', fieldDetail: 'is required' })
      return addProductImages(deps, request.params.wid, request.params.id, stored)
    })
    return reply.code(201).send({ images })
  })

  app.patch('/workspaces/:wid/products/:id/images', {
    config: write,
    schema: { tags, summary: 'Reorder the images', params: WorkspaceProductParams, body: ImageOrderBody, response: { 200: Type.Object({ images: Type.Array(ImageView) }) } }
  }, async (request) => ({ images: await reorderProductImages(deps, request.params.wid, request.params.id, request.body.order) }))

  app.delete('/workspaces/:wid/products/:id/images/:imageId', {
    config: write,
    schema: { tags, summary: 'Delete an image (its file is removed)', params: ImageParams, response: { 204: Type.Null() } }
  }, async (request, reply) => {
    await deleteProductImage(deps, request.params.wid, request.params.id, request.params.imageId)
    return reply.code(204).send(null)
  })
}

export default products
