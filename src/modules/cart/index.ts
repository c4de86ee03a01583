import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { problems } from '../../platform/errors.ts'
import { principalOf } from '../../platform/principal.ts'
import { AddItemBody, CartQuery, CartRef, ItemParams, QuantityBody, ShippingOptionsView } from './schemas.ts'
import { addToCart, clearCart, getCart, removeCartItem, setCartQuantity } from './service.ts'
import { cartShippingOptions } from './shipping-options.ts'

const tags = ['cart']

const cart: FastifyPluginAsyncTypebox = async (app) => {
  const { deps } = app

  app.get('/cart', {
    config: { auth: 'user' },
    schema: {
      operationId: 'getCart',
      tags,
      summary: 'Your cart, at current prices, with totals per currency',
      description: 'Prices are read now, not when a line was added. A line whose product left the catalog, or with more than the stock, is marked available: false; lines no longer on sale are not totalled. summaries price each currency as checkout would (discount, shipping, tax) for a destination: shippingAddressId, or country (and region), else your default address; with none, shipping and tax are null and the total leaves them out. What checkout would refuse is listed under issues.',
      querystring: CartQuery,
      response: { 200: CartRef, ...problems(400, 404) }
    }
  }, async (request) => getCart(deps, principalOf(request).userId, request.query))

  app.get('/cart/shipping-options', {
    config: { auth: 'user' },
    schema: {
      operationId: 'getCartShippingOptions',
      tags,
      summary: 'The shipping rates each store\'s order of your cart could ship by, cheapest first',
      description: 'For a destination: shippingAddressId, or country (and region), else your default address (without any: 400 naming country). Each store order (per currency) lists the store\'s active rates for that country and currency, priced as checkout prices them ' +
        '(free over a threshold is measured after the order\'s discount); cheapest marks the one charged when none is chosen. Send a rateId in POST /orders shippingRateIds to choose it. A store without rates ships free (no options); shippable false: checkout would refuse with 409 NOT_SHIPPABLE.',
      querystring: CartQuery,
      response: { 200: ShippingOptionsView, ...problems(400, 404) }
    }
  }, async (request) => cartShippingOptions(deps, principalOf(request).userId, request.query))

  app.post('/cart/items', {
    config: { auth: 'user' },
    schema: {
      operationId: 'addCartItem',
      tags,
      summary: 'Add a variant (adds to an existing line); more than the stock is 409 OUT_OF_STOCK, a line above 999 409 QUANTITY_LIMIT',
      description: 'Adding a variant already in the cart adds to that line. A variant not on sale is 404. Answers with the whole cart.',
      body: AddItemBody,
      response: { 200: CartRef, ...problems(404, 409) }
    }
  }, async (request) => addToCart(deps, principalOf(request).userId, request.body.variantId, request.body.quantity))

  app.patch('/cart/items/:id', {
    config: { auth: 'user' },
    schema: {
      operationId: 'setCartItemQuantity',
      tags,
      summary: 'Set a line\'s quantity; more than the stock is 409 OUT_OF_STOCK, a product no longer sold 409 PRODUCT_UNAVAILABLE',
      description: 'The quantity replaces the line\'s (1 to 999). Another user\'s line is 404. Answers with the whole cart.',
      params: ItemParams,
      body: QuantityBody,
      response: { 200: CartRef, ...problems(404, 409) }
    }
  }, async (request) => setCartQuantity(deps, principalOf(request).userId, request.params.id, request.body.quantity))

  app.delete('/cart/items/:id', {
    config: { auth: 'user' },
    schema: {
      operationId: 'removeCartItem',
      tags,
      summary: 'Remove a line',
      description: 'Removes the line whatever its quantity; another user\'s line is 404.',
      params: ItemParams,
      response: { 204: Type.Null(), ...problems(404) }
    }
  }, async (request, reply) => {
    await removeCartItem(deps, principalOf(request).userId, request.params.id)
    return reply.code(204).send(null)
  })

  app.delete('/cart', {
    config: { auth: 'user' },
    schema: {
      operationId: 'clearCart',
      tags,
      summary: 'Empty the cart',
      description: 'Removes every line; an empty cart stays empty (204 either way).',
      response: { 204: Type.Null() }
    }
  }, async (request, reply) => {
    await clearCart(deps.db, principalOf(request).userId)
    return reply.code(204).send(null)
  })
}

export default cart
