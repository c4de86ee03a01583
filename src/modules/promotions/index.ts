import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { withLocation } from '../../platform/docs.ts'
import { problems } from '../../platform/errors.ts'
import { principalOf } from '../../platform/principal.ts'
import { workspaceOf } from '../workspaces/public.ts'
import { applyCode, removeCode, type CartReader, type PricedCart } from './apply.ts'
import { createPromotion, deletePromotion, listPromotions, updatePromotion } from './codes.ts'
import {
  AdminPromotionQuery, ApplyCodeBody, CreatePlatformPromotionBody, CreateWorkspacePromotionBody, PromotionPage, PromotionParams, PromotionView,
  UpdatePromotionBody, WorkspaceParams, WorkspacePromotionParams, WorkspacePromotionQuery
} from './schemas.ts'

// Promotion codes (issue 14, plan §4 WP2): platform codes (admins), a workspace's own codes
// (owners and admins of it), and a cart's code (its customer).

const tags = ['promotions']

export interface PromotionsOptions<V extends PricedCart> {
  /** The cart's answer (the cart module's getCart), read with the deps given. */
  readCart: CartReader<V>
}

/** Applying codes is rate limited per customer: guessing codes is slow. */
export const APPLY_PER_MINUTE = 20

const promotions: FastifyPluginAsyncTypebox<PromotionsOptions<PricedCart>> = async (app, { readCart }) => {
  const { deps } = app
  const CartView = Type.Unsafe<unknown>({ $ref: 'CartView' })
  const manage = { auth: 'user', workspace: 'workspace:update' } as const

  app.post('/admin/promotions', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'createPlatformPromotion',
      tags: [...tags, 'admin'],
      summary: 'Create a platform-wide promotion code (platform admins)',
      description: 'A platform code covers every line of a cart (a fixed code, or one with minSubtotal, only lines of its currency). fundedBy says who pays for the discount: the platform (the vendor is paid as if undiscounted) or the vendor. Codes are unique among live codes ignoring case: 409 CODE_TAKEN.',
      body: CreatePlatformPromotionBody,
      response: { 201: withLocation(PromotionView), ...problems(400, 409) }
    }
  }, async (request, reply) => {
    const created = await createPromotion(deps, principalOf(request).userId, null, request.body)
    return reply.code(201).header('location', `/admin/promotions/${created.id}`).send(created)
  })

  app.get('/admin/promotions', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'listPlatformPromotions',
      tags: [...tags, 'admin'],
      summary: 'Platform promotion codes, newest first (platform admins)',
      description: 'q matches part of the code (ignoring case), active filters on isActive. Keyset pagination: pass nextCursor back with the same filters. Deleted codes are not listed.',
      querystring: AdminPromotionQuery,
      response: { 200: PromotionPage }
    }
  }, async (request) => listPromotions(deps, null, request.query))

  app.patch('/admin/promotions/:id', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'updatePlatformPromotion',
      tags: [...tags, 'admin'],
      summary: 'Change a platform code: active, end, limits (platform admins)',
      description: 'Fields left out keep their value; null removes an end or a limit. maxUses below the uses already made is 409 BELOW_USAGE. The terms (kind, amounts) never change: create another code.',
      params: PromotionParams,
      body: UpdatePromotionBody,
      response: { 200: PromotionView, ...problems(404, 409) }
    }
  }, async (request) => updatePromotion(deps, null, request.params.id, request.body))

  app.post('/workspaces/:wid/promotions', {
    config: manage,
    schema: {
      operationId: 'createWorkspacePromotion',
      tags,
      summary: 'Create a code of the workspace: it covers only the workspace\'s lines, and the workspace funds it',
      description: 'Needs workspace:update (owner or admin). Codes are unique among every live code, platform ones included, ignoring case: 409 CODE_TAKEN.',
      params: WorkspaceParams,
      body: CreateWorkspacePromotionBody,
      response: { 201: withLocation(PromotionView), ...problems(400, 409) }
    }
  }, async (request, reply) => {
    const created = await createPromotion(deps, principalOf(request).userId, workspaceOf(request).id, request.body)
    return reply.code(201).header('location', `/workspaces/${created.workspaceId!}/promotions/${created.id}`).send(created)
  })

  app.get('/workspaces/:wid/promotions', {
    config: manage,
    schema: {
      operationId: 'listWorkspacePromotions',
      tags,
      summary: 'The workspace\'s codes, newest first',
      description: 'Needs workspace:update. Keyset pagination: pass nextCursor back. Deleted codes are not listed.',
      params: WorkspaceParams,
      querystring: WorkspacePromotionQuery,
      response: { 200: PromotionPage }
    }
  }, async (request) => listPromotions(deps, workspaceOf(request).id, request.query))

  app.patch('/workspaces/:wid/promotions/:id', {
    config: manage,
    schema: {
      operationId: 'updateWorkspacePromotion',
      tags,
      summary: 'Change a code of the workspace: active, end, limits',
      description: 'As PATCH /admin/promotions/{id}, for the workspace\'s own codes; another workspace\'s code is 404.',
      params: WorkspacePromotionParams,
      body: UpdatePromotionBody,
      response: { 200: PromotionView, ...problems(404, 409) }
    }
  }, async (request) => updatePromotion(deps, workspaceOf(request).id, request.params.id, request.body))

  app.delete('/workspaces/:wid/promotions/:id', {
    config: manage,
    schema: {
      operationId: 'deleteWorkspacePromotion',
      tags,
      summary: 'Delete a code of the workspace',
      description: 'Soft delete: orders keep naming it, carts holding it see it unavailable (checkout refuses until it is removed), and its name is free again.',
      params: WorkspacePromotionParams,
      response: { 204: Type.Null(), ...problems(404) }
    }
  }, async (request, reply) => {
    await deletePromotion(deps, workspaceOf(request).id, request.params.id)
    return reply.code(204).send(null)
  })

  app.post('/cart/promotion', {
    config: {
      auth: 'user',
      // Per customer, counted after the sign-in is verified (so in preHandler, keyed by the
      // user); never exempt, unlike the general limit a signed-in session pays in the auth check.
      rateLimit: { max: APPLY_PER_MINUTE, timeWindow: 60_000, hook: 'preHandler', keyGenerator: (request) => `promo:${principalOf(request).userId}`, allowList: () => false }
    },
    schema: {
      operationId: 'applyCartPromotion',
      tags: [...tags, 'cart'],
      summary: 'Apply a promotion code to your cart (replacing the one it held); answers with the cart',
      description: `Unknown, inactive and out-of-window codes are one answer: 404 PROMOTION_NOT_FOUND. A code that cannot apply is 409 PROMOTION_NOT_APPLICABLE with extra.reason (min_subtotal, no_eligible_lines, currency, exhausted, customer_limit) and the cart keeps what it held. An empty cart takes any usable code. The code is checked again at checkout. ${APPLY_PER_MINUTE} tries a minute per customer (429).`,
      body: ApplyCodeBody,
      response: { 200: CartView, ...problems(400, 404, 409, 429) }
    }
  }, async (request) => applyCode(deps, principalOf(request).userId, request.body.code, readCart))

  app.delete('/cart/promotion', {
    config: { auth: 'user' },
    schema: {
      operationId: 'removeCartPromotion',
      tags: [...tags, 'cart'],
      summary: 'Remove the promotion code from your cart; answers with the cart',
      description: 'A cart without a code stays without one (200 either way).',
      response: { 200: CartView }
    }
  }, async (request) => removeCode(deps, principalOf(request).userId, readCart))
}

export default promotions
