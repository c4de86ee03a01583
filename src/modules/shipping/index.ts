import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { withLocation } from '../../platform/docs.ts'
import { problems } from '../../platform/errors.ts'
import { createShippingRate, deleteShippingRate, listShippingRates, updateShippingRate } from './rates.ts'
import { CreateShippingRateBody, RateParams, ShippingRateList, ShippingRateRef, UpdateShippingRateBody, WorkspaceParams } from './schemas.ts'

// A workspace's shipping rates (issue 14). Rates change no public catalog page (no changesCatalog);
// carts and checkouts read them live.

const tags = ['shipping']
const read = { auth: 'user', workspace: 'workspace:read' } as const
const write = { auth: 'user', workspace: 'workspace:update' } as const

const shipping: FastifyPluginAsyncTypebox = async (app) => {
  const { deps } = app

  app.get('/workspaces/:wid/shipping-rates', {
    config: read,
    schema: {
      operationId: 'listShippingRates',
      tags,
      summary: 'The workspace\'s shipping rates, inactive ones included',
      description: 'Every rate not deleted, oldest first (at most 50). A workspace without rates ships free; one with rates ships only where an active rate of the order\'s currency applies. Needs workspace:read.',
      params: WorkspaceParams,
      response: { 200: ShippingRateList }
    }
  }, async (request) => listShippingRates(deps, request.params.wid))

  app.post('/workspaces/:wid/shipping-rates', {
    config: write,
    schema: {
      operationId: 'createShippingRate',
      tags,
      summary: 'Add a shipping rate (flat, or free over a threshold)',
      description: 'kind flat charges amount; kind free_over charges amount unless the order, after its discount, reaches freeOver (inclusive), in the currency of amount. countries (ISO codes, each once, at most 250) limits where it applies; empty: everywhere. ' +
        'Checkout charges the customer\'s chosen rate, else the cheapest that applies. At most 50 rates per workspace (409 TOO_MANY_RATES). Needs workspace:update.',
      params: WorkspaceParams,
      body: CreateShippingRateBody,
      response: { 201: withLocation(ShippingRateRef), ...problems(409) }
    }
  }, async (request, reply) => {
    const rate = await createShippingRate(deps, request.params.wid, request.body)
    return reply.code(201).header('location', `/workspaces/${rate.workspaceId}/shipping-rates/${rate.id}`).send(rate)
  })

  app.patch('/workspaces/:wid/shipping-rates/:id', {
    config: write,
    schema: {
      operationId: 'updateShippingRate',
      tags,
      summary: 'Change a shipping rate',
      description: 'Fields left out keep their value; the result is checked as a whole (freeOver with free_over only, in the currency of amount). Turning a rate flat drops its threshold. Orders already placed keep what they were charged. Another workspace\'s rate is 404.',
      params: RateParams,
      body: UpdateShippingRateBody,
      response: { 200: ShippingRateRef, ...problems(404) }
    }
  }, async (request) => updateShippingRate(deps, request.params.wid, request.params.id, request.body))

  app.delete('/workspaces/:wid/shipping-rates/:id', {
    config: write,
    schema: {
      operationId: 'deleteShippingRate',
      tags,
      summary: 'Delete a shipping rate (soft)',
      description: 'The rate is no longer offered; a checkout naming it is 409 SHIPPING_RATE_UNAVAILABLE. When the last rate goes, the workspace ships free again (an inactive rate still counts: deactivate every rate to stop shipping). Another workspace\'s rate is 404.',
      params: RateParams,
      response: { 204: Type.Null(), ...problems(404) }
    }
  }, async (request, reply) => {
    await deleteShippingRate(deps, request.params.wid, request.params.id)
    return reply.code(204).send(null)
  })
}

export default shipping
