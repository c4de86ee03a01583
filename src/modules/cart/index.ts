import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { problems } from '../../platform/errors.ts'
import { principalOf } from '../../platform/principal.ts'
import { AddItemBody, CartRef, ItemParams, QuantityBody } from './schemas.ts'
import { addToCart, clearCart, getCart, removeCartItem, setCartQuantity } from './service.ts'

const tags = ['cart']

const cart: FastifyPluginAsyncTypebox = async (app) => {
  const { deps } = app

  app.get('/cart', {
    config: { auth: 'user' },
    schema: { tags, summary: 'Your cart, at current prices, with totals per currency', response: { 200: CartRef } }
  }, async (request) => getCart(deps, principalOf(request).userId))

  app.post('/cart/items', {
    config: { auth: 'user' },
    schema: { tags, summary: 'Add a variant (adds to an existing line); more than the stock is 409 OUT_OF_STOCK, a line above 999 409 QUANTITY_LIMIT', body: AddItemBody, response: { 200: CartRef, ...problems(404, 409) } }
  }, async (request) => addToCart(deps, principalOf(request).userId, request.body.variantId, request.body.quantity))

  app.patch('/cart/items/:id', {
    config: { auth: 'user' },
    schema: { tags, summary: 'Set a line\'s quantity; more than the stock is 409 OUT_OF_STOCK, a product no longer sold 409 PRODUCT_UNAVAILABLE', params: ItemParams, body: QuantityBody, response: { 200: CartRef, ...problems(404, 409) } }
  }, async (request) => setCartQuantity(deps, principalOf(request).userId, request.params.id, request.body.quantity))

  app.delete('/cart/items/:id', {
    config: { auth: 'user' },
    schema: { tags, summary: 'Remove a line', params: ItemParams, response: { 204: Type.Null(), ...problems(404) } }
  }, async (request, reply) => {
    await removeCartItem(deps, principalOf(request).userId, request.params.id)
    return reply.code(204).send(null)
  })

  app.delete('/cart', {
    config: { auth: 'user' },
    schema: { tags, summary: 'Empty the cart', response: { 204: Type.Null() } }
  }, async (request, reply) => {
    await clearCart(deps.db, principalOf(request).userId)
    return reply.code(204).send(null)
  })
}

export default cart
