import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { withLocation } from '../../platform/docs.ts'
import { BadRequest, problems } from '../../platform/errors.ts'
import { cacheablePublicReads, NotModified } from '../../platform/http-cache.ts'
import { principalOf } from '../../platform/principal.ts'
import { acceptUploads, IMAGE_TYPES, storeUpload, withStoredUploads } from '../../platform/uploads.ts'
import { getCatalogProduct, searchCatalog } from './catalog.ts'
import { listCategories } from './categories.ts'
import { addProductImages, deleteProductImage, reorderProductImages } from './images.ts'
import { createProduct, deleteProduct, getWorkspaceProduct, listWorkspaceProducts, updateProduct } from './manage.ts'
import moderationRoutes from './moderation-routes.ts'
import {
  CatalogQuery, Categories, CategoriesQuery, CreateProductBody, ImageList, ImageOrderBody, ImageParams, ManageListQuery, ProductPage, ProductParams, ProductRef,
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
        operationId: 'searchProducts',
        tags: ['catalog'],
        summary: 'Search the catalog (active products of approved vendors)',
        description: 'q is Postgres full-text search (title, keywords, description; ranked). Keyset pagination: pass nextCursor back with the same filters and sort. ' +
          'The answer is the same for everyone: it carries an ETag, and a matching If-None-Match gets 304.',
        querystring: CatalogQuery,
        response: { 200: ProductPage, 304: NotModified }
      }
    }, async (request) => searchCatalog(deps, request.query))

    catalog.get('/products/:id', {
      schema: {
        operationId: 'getProduct',
        tags: ['catalog'],
        summary: 'A product of the catalog',
        description: 'An active product of an approved vendor, with its variants, stock and prices after discount; anything else is 404. Carries an ETag (304 on a match).',
        params: ProductParams,
        response: { 200: ProductRef, 304: NotModified, ...problems(404) }
      }
    }, async (request) => getCatalogProduct(deps, request.params.id))

    catalog.get('/categories', {
      schema: {
        operationId: 'listCategories',
        tags: ['catalog'],
        summary: 'Categories in the catalog, with how many products each has',
        description: 'The managed categories (kept by platform admins) that products of the catalog carry, most used first, with their parent\'s slug; ' +
          'counts only products the catalog shows (active, of approved vendors, not unlisted). With all=true, every managed category, empty ones too: what vendors choose from. ' +
          'Carries an ETag (304 on a match).',
        querystring: CategoriesQuery,
        response: { 200: Categories, 304: NotModified }
      }
    }, async (request) => ({ items: await listCategories(deps, request.query.all === true) }))
  })

  await app.register(moderationRoutes)

  const manage = { auth: 'user', workspace: 'products:write' } as const
  // Writes that change what the public catalog shows: they invalidate the API's copy of it.
  const write = { ...manage, changesCatalog: true } as const
  const tags = ['products']

  app.get('/workspaces/:wid/products', {
    config: manage,
    schema: {
      operationId: 'listWorkspaceProducts',
      tags,
      summary: 'The workspace\'s products, inactive ones included',
      description: 'Newest first, keyset pagination (pass nextCursor back). Needs the products:write permission in the workspace.',
      params: WorkspaceParams,
      querystring: ManageListQuery,
      response: { 200: ProductPage }
    }
  }, async (request) => listWorkspaceProducts(deps, request.params.wid, request.query))

  app.post('/workspaces/:wid/products', {
    config: write,
    schema: {
      operationId: 'createProduct',
      tags,
      summary: 'Create a product with its variants',
      description: 'Prices are in minor units. categories are slugs of managed categories (GET /categories?all=true); an unknown one is 400 naming it. A SKU already used in the workspace is 409. ' +
        'The product shows in the catalog when it is active and the vendor is approved.',
      params: WorkspaceParams,
      body: CreateProductBody,
      response: { 201: withLocation(ProductRef), ...problems(409) }
    }
  }, async (request, reply) => {
    const product = await createProduct(deps, principalOf(request), request.params.wid, request.body)
    return reply.code(201).header('location', `/workspaces/${product.workspaceId}/products/${product.id}`).send(product)
  })

  app.get('/workspaces/:wid/products/:id', {
    config: manage,
    schema: {
      operationId: 'getWorkspaceProduct',
      tags,
      summary: 'A product of the workspace',
      description: 'Any product of the workspace, inactive ones included; another workspace\'s product is 404.',
      params: WorkspaceProductParams,
      response: { 200: ProductRef, ...problems(404) }
    }
  }, async (request) => getWorkspaceProduct(deps, request.params.wid, request.params.id))

  app.patch('/workspaces/:wid/products/:id', {
    config: write,
    schema: {
      operationId: 'updateProduct',
      tags,
      summary: 'Update a product; variants, when given, are the full new list',
      description: 'Fields left out keep their value. In variants, an id keeps that variant, no id adds one, and a variant left out is retired. A SKU taken by another variant is 409.',
      params: WorkspaceProductParams,
      body: UpdateProductBody,
      response: { 200: ProductRef, ...problems(404, 409) }
    }
  }, async (request) => updateProduct(deps, principalOf(request), request.params.wid, request.params.id, request.body))

  app.delete('/workspaces/:wid/products/:id', {
    config: write,
    schema: {
      operationId: 'deleteProduct',
      tags,
      summary: 'Delete a product (soft; its images are removed)',
      description: 'The product leaves the catalog at once; orders already placed keep their own copy of its title and prices.',
      params: WorkspaceProductParams,
      response: { 204: Type.Null(), ...problems(404) }
    }
  }, async (request, reply) => {
    await deleteProduct(deps, principalOf(request), request.params.wid, request.params.id)
    return reply.code(204).send(null)
  })

  app.post('/workspaces/:wid/products/:id/images', {
    config: write,
    schema: {
      operationId: 'addProductImages',
      tags,
      summary: 'Add up to 5 images per request (JPEG, PNG or WebP, judged by content)',
      description: 'multipart/form-data with one or more file parts; the type is judged by the bytes, not the name or the declared type (415 otherwise), and each file has a size limit (413). A product holds at most 20 images (409 TOO_MANY_IMAGES). Answers with every image of the product, in order.',
      consumes: ['multipart/form-data'],
      params: WorkspaceProductParams,
      response: { 201: ImageList, ...problems(404, 409, 413, 415) }
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
    schema: {
      operationId: 'reorderProductImages',
      tags,
      summary: 'Reorder the images',
      description: 'order lists every image id of the product exactly once, first image first.',
      params: WorkspaceProductParams,
      body: ImageOrderBody,
      response: { 200: ImageList, ...problems(404) }
    }
  }, async (request) => ({ images: await reorderProductImages(deps, request.params.wid, request.params.id, request.body.order) }))

  app.delete('/workspaces/:wid/products/:id/images/:imageId', {
    config: write,
    schema: {
      operationId: 'deleteProductImage',
      tags,
      summary: 'Delete an image (its file is removed)',
      description: 'The remaining images keep their order.',
      params: ImageParams,
      response: { 204: Type.Null(), ...problems(404) }
    }
  }, async (request, reply) => {
    await deleteProductImage(deps, request.params.wid, request.params.id, request.params.imageId)
    return reply.code(204).send(null)
  })
}

export default products
