import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { withLocation } from '../../platform/docs.ts'
import { problems } from '../../platform/errors.ts'
import { principalOf } from '../../platform/principal.ts'
import { createCategory, deleteCategory, listManagedCategories, updateCategory } from './categories.ts'
import { getAnyProduct, listAllProducts, moderateProduct, moderationTrail } from './moderation.ts'
import {
  AdminProductParams, AdminProductQuery, CategoryBody, CategoryListQuery, CategoryPage, CategoryParams, CategoryPatch, CategoryView,
  ModerationBody, ModerationTrail
} from './moderation-schemas.ts'
import { ProductPage, ProductRef } from './schemas.ts'

// Platform admins moderate the catalog (issue 15, item 4): the managed categories, and every
// workspace's products, which they can take off the catalog and put back.

const moderationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { deps } = app
  const tags = ['admin']
  const read = { auth: 'admin' } as const
  // Writes that change what the public catalog shows: they invalidate the API's copy of it.
  const write = { auth: 'admin', changesCatalog: true } as const

  app.get('/admin/categories', {
    config: read,
    schema: {
      operationId: 'listManagedCategories',
      tags,
      summary: 'The managed categories, by slug (platform admins)',
      description: 'Every category, with its parent\'s slug and how many catalog products carry it. Keyset pagination: pass nextCursor back.',
      querystring: CategoryListQuery,
      response: { 200: CategoryPage }
    }
  }, async (request) => listManagedCategories(deps, request.query))

  app.post('/admin/categories', {
    config: write,
    schema: {
      operationId: 'createCategory',
      tags,
      summary: 'Create a category (platform admins)',
      description: 'Vendors can then put the slug in a product\'s categories. A slug in use is 409 SLUG_TAKEN; an unknown parent is 400 naming /body/parent.',
      body: CategoryBody,
      response: { 201: withLocation(CategoryView), ...problems(409) }
    }
  }, async (request, reply) => {
    const category = await createCategory(deps, principalOf(request), request.body)
    return reply.code(201).header('location', `/admin/categories/${category.id}`).send(category)
  })

  app.patch('/admin/categories/:id', {
    config: write,
    schema: {
      operationId: 'updateCategory',
      tags,
      summary: 'Rename, re-slug or move a category (platform admins)',
      description: 'Products stay attached: those carrying the old slug carry the new one, in the same transaction. A parent that would make a cycle is 400 naming /body/parent; a slug in use is 409 SLUG_TAKEN.',
      params: CategoryParams,
      body: CategoryPatch,
      response: { 200: CategoryView, ...problems(404, 409) }
    }
  }, async (request) => updateCategory(deps, principalOf(request), request.params.id, request.body))

  app.delete('/admin/categories/:id', {
    config: write,
    schema: {
      operationId: 'deleteCategory',
      tags,
      summary: 'Delete a category no product carries (platform admins)',
      description: 'A category that a live product carries is 409 CATEGORY_IN_USE (take it off them, or rename it instead); one with child categories is 409 CATEGORY_HAS_CHILDREN.',
      params: CategoryParams,
      response: { 204: Type.Null(), ...problems(404, 409) }
    }
  }, async (request, reply) => {
    await deleteCategory(deps, request.params.id)
    return reply.code(204).send(null)
  })

  app.get('/admin/products', {
    config: read,
    schema: {
      operationId: 'listAllProducts',
      tags,
      summary: 'Every workspace\'s products, inactive and unlisted ones included (platform admins)',
      description: 'Newest first, optionally of one workspace, or only unlisted (or only not unlisted) products. Keyset pagination: pass nextCursor back with the same filters.',
      querystring: AdminProductQuery,
      response: { 200: ProductPage }
    }
  }, async (request) => listAllProducts(deps, request.query))

  app.get('/admin/products/:id', {
    config: read,
    schema: {
      operationId: 'getAnyProduct',
      tags,
      summary: 'Any workspace\'s product (platform admins)',
      description: 'Whatever its state, unless deleted (404).',
      params: AdminProductParams,
      response: { 200: ProductRef, ...problems(404) }
    }
  }, async (request) => getAnyProduct(deps, request.params.id))

  app.post('/admin/products/:id/unlist', {
    config: write,
    schema: {
      operationId: 'unlistProduct',
      tags,
      summary: 'Take a product off the catalog, with a reason (platform admins)',
      description: 'It leaves the catalog, its category counts, and can no longer be added to a cart or bought; its vendor sees `unlisted` with the reason and cannot relist it. The move is kept in the product\'s moderation trail. Already unlisted: 409 ALREADY_UNLISTED.',
      params: AdminProductParams,
      body: ModerationBody,
      response: { 200: ProductRef, ...problems(404, 409) }
    }
  }, async (request) => moderateProduct(deps, principalOf(request), request.params.id, 'unlist', request.body.reason))

  app.post('/admin/products/:id/relist', {
    config: write,
    schema: {
      operationId: 'relistProduct',
      tags,
      summary: 'Put an unlisted product back, with a reason (platform admins)',
      description: 'It shows in the catalog again when it is active and its vendor may sell. Kept in the moderation trail. A product that is not unlisted: 409 NOT_UNLISTED.',
      params: AdminProductParams,
      body: ModerationBody,
      response: { 200: ProductRef, ...problems(404, 409) }
    }
  }, async (request) => moderateProduct(deps, principalOf(request), request.params.id, 'relist', request.body.reason))

  app.get('/admin/products/:id/moderation', {
    config: read,
    schema: {
      operationId: 'getProductModerationTrail',
      tags,
      summary: 'A product\'s moderation trail: every unlist and relist, who, when and why (platform admins)',
      description: 'Oldest first.',
      params: AdminProductParams,
      response: { 200: ModerationTrail, ...problems(404) }
    }
  }, async (request) => ({ items: await moderationTrail(deps, request.params.id) }))
}

export default moderationRoutes
