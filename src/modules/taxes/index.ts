import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { withLocation } from '../../platform/docs.ts'
import { problems } from '../../platform/errors.ts'
import { principalOf } from '../../platform/principal.ts'
import { createTaxRate, deleteTaxRate, listTaxRates, updateTaxRate } from './rates.ts'
import { CreateTaxRateBody, TaxRatePage, TaxRateParams, TaxRateQuery, TaxRateRef, UpdateTaxRateBody } from './schemas.ts'

// Tax rates (issue 14), kept by platform admins. Changing one alters no placed order: each
// order keeps its tax and the rate it was taxed at.

const tags = ['admin']
const admin = { auth: 'admin' } as const

const taxes: FastifyPluginAsyncTypebox = async (app) => {
  const { deps } = app

  app.get('/admin/tax-rates', {
    config: admin,
    schema: {
      operationId: 'listTaxRates',
      tags,
      summary: 'Tax rates (platform admins)',
      description: 'Live rates, oldest first, optionally of one country. Keyset pagination: pass nextCursor back with the same filter.',
      querystring: TaxRateQuery,
      response: { 200: TaxRatePage }
    }
  }, async (request) => listTaxRates(deps, request.query))

  app.post('/admin/tax-rates', {
    config: admin,
    schema: {
      operationId: 'createTaxRate',
      tags,
      summary: 'Add a tax rate for a country, or a region (state) of it (platform admins)',
      description: 'A destination is taxed at its region\'s rate, else its country\'s rate without a region, else not at all; per line, on the line after its discount, rounded half up. ' +
        'Exclusive rates are added to the total; inclusive ones are already inside the prices (shown, not added). Shipping is not taxed. One live rate per country and region: another is 409 TAX_RATE_EXISTS.',
      body: CreateTaxRateBody,
      response: { 201: withLocation(TaxRateRef), ...problems(409) }
    }
  }, async (request, reply) => {
    const rate = await createTaxRate(deps, principalOf(request), request.body)
    return reply.code(201).header('location', `/admin/tax-rates/${rate.id}`).send(rate)
  })

  app.patch('/admin/tax-rates/:id', {
    config: admin,
    schema: {
      operationId: 'updateTaxRate',
      tags,
      summary: 'Change a tax rate (platform admins)',
      description: 'Fields left out keep their value. Moving it onto a country and region that has a rate is 409 TAX_RATE_EXISTS. Orders already placed keep their tax.',
      params: TaxRateParams,
      body: UpdateTaxRateBody,
      response: { 200: TaxRateRef, ...problems(404, 409) }
    }
  }, async (request) => updateTaxRate(deps, request.params.id, request.body))

  app.delete('/admin/tax-rates/:id', {
    config: admin,
    schema: {
      operationId: 'deleteTaxRate',
      tags,
      summary: 'Delete a tax rate (platform admins; soft)',
      description: 'The destination falls back to its country\'s rate (or none). A new rate may then be added for the same place.',
      params: TaxRateParams,
      response: { 204: Type.Null(), ...problems(404) }
    }
  }, async (request, reply) => {
    await deleteTaxRate(deps, request.params.id)
    return reply.code(204).send(null)
  })
}

export default taxes
