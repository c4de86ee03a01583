import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { problems } from '../../platform/errors.ts'
import { principalOf } from '../../platform/principal.ts'
import { bodyDefaultsToEmpty } from '../../platform/route-hooks.ts'
import type { PaymentGateway } from '../../platform/payment-provider.ts'
import { can, workspaceOf } from '../workspaces/public.ts'
import { checkout } from './checkout.ts'
import { cancelOwnOrder, setOrderStatus } from './lifecycle.ts'
import type { OrderDeps } from './order-deps.ts'
import { getOrder, getWorkspaceOrder, listOrders, listWorkspaceOrders } from './queries.ts'
import { refundOrder } from './refunds.ts'
import {
  AdminOrderQuery, CancelBody, CheckoutBody, CheckoutResponse, ListQuery, OrderPage, OrderParams, OrderRef, RefundBody, StatusBody, WorkspaceListQuery,
  WorkspaceOrderPage, WorkspaceOrderParams, WorkspaceOrderRef, WorkspaceParams
} from './schemas.ts'

const orders: FastifyPluginAsyncTypebox<{ gateway: PaymentGateway }> = async (app, { gateway }) => {
  const deps: OrderDeps = { ...app.deps, gateway }
  const tags = ['orders']

  app.post('/orders', {
    config: { auth: 'user', idempotency: 'required', changesCatalog: true },
    schema: {
      operationId: 'checkOut',
      tags,
      summary: 'Check out the cart: one order per workspace, stock taken, one PaymentIntent for the total',
      description: 'Idempotency-Key is required: the same key and body replay the first response; another body gets 422. Items above the stock give 409 OUT_OF_STOCK and change nothing. Part of the cart may be checked out: `lines` (cart line ids) or `currency` (the lines in that currency), not both (400); the rest stays in the cart. A selected line not in the cart is 409 CART_LINES_NOT_FOUND (extra.lineIds), changing nothing. A whole cart (or a selection) in several currencies is refused with 409 MIXED_CURRENCIES (extra.currencies): pass `currency` to check out one. The cart is priced once (discount, shipping, tax, as GET /cart\'s summaries show) and the totals and commission are frozen on the orders; the intent charges the total. What pricing refuses is 409 PROMOTION_NOT_APPLICABLE, NOT_SHIPPABLE, SHIPPING_RATE_UNAVAILABLE, AMOUNT_TOO_LARGE (above what one payment can charge) or AMOUNT_TOO_SMALL (below the provider\'s least charge in that currency, `extra.minimum`), and a total of 0 is 409 NOTHING_TO_PAY, all changing nothing. A code whose last use another checkout just took is 409 PROMOTION_UNAVAILABLE, found after the stock is taken and rolled back with everything else.',
      body: CheckoutBody,
      response: { 201: CheckoutResponse, ...problems(404, 409, 422, 502) }
    }
  }, async (request, reply) => {
    const key = request.headers['idempotency-key'] as string
    return reply.code(201).send(await checkout(deps, principalOf(request), key, request.body))
  })

  app.get('/orders', {
    config: { auth: 'user' },
    schema: {
      operationId: 'listMyOrders',
      tags,
      summary: 'Your orders, newest first',
      description: 'Every order you placed, across workspaces, with items and history. Keyset pagination: pass nextCursor back.',
      querystring: ListQuery,
      response: { 200: OrderPage }
    }
  }, async (request) => listOrders(deps, { userId: principalOf(request).userId }, request.query))

  app.get('/orders/:id', {
    config: { auth: 'user' },
    schema: {
      operationId: 'getMyOrder',
      tags,
      summary: 'One of your orders, with items and history',
      description: 'paymentStatus turns paid once the payment provider confirms the payment (its webhook); another user\'s order is 404.',
      params: OrderParams,
      response: { 200: OrderRef, ...problems(404) }
    }
  }, async (request) => getOrder(deps, { id: request.params.id, userId: principalOf(request).userId }))

  app.post('/orders/:id/cancel', {
    config: { auth: 'user', changesCatalog: true },
    preValidation: bodyDefaultsToEmpty,
    schema: {
      operationId: 'cancelMyOrder',
      tags,
      summary: 'Cancel your order (pending or confirmed): stock is returned, a payment refunded',
      description: 'The body is optional (a reason). An order already shipped, delivered or cancelled is 409 ILLEGAL_TRANSITION. A 502 means the refund is recorded and the provider is asked again automatically.',
      params: OrderParams,
      body: CancelBody,
      response: { 200: OrderRef, ...problems(404, 409, 502) }
    }
  }, async (request) => cancelOwnOrder(deps, principalOf(request), request.params.id, request.body.reason))

  const wsTags = ['workspace orders']

  app.get('/workspaces/:wid/orders', {
    config: { auth: 'user', workspace: 'orders:manage' },
    schema: {
      operationId: 'listWorkspaceOrders',
      tags: wsTags,
      summary: 'The workspace\'s orders, newest first',
      description: 'Orders placed with this workspace, optionally of one status, each with the platform\'s commission and the workspace\'s net. Needs the orders:manage permission. Keyset pagination: pass nextCursor back with the same status.',
      params: WorkspaceParams,
      querystring: WorkspaceListQuery,
      response: { 200: WorkspaceOrderPage }
    }
  }, async (request) => listWorkspaceOrders(deps, { workspaceId: request.params.wid, status: request.query.status }, request.query))

  app.get('/workspaces/:wid/orders/:id', {
    config: { auth: 'user', workspace: 'orders:manage' },
    schema: {
      operationId: 'getWorkspaceOrder',
      tags: wsTags,
      summary: 'An order of the workspace',
      description: 'With the platform\'s commission (frozen at checkout) and the workspace\'s net. Needs the orders:manage permission; another workspace\'s order is 404.',
      params: WorkspaceOrderParams,
      response: { 200: WorkspaceOrderRef, ...problems(404) }
    }
  }, async (request) => getWorkspaceOrder(deps, { id: request.params.id, workspaceId: request.params.wid }))

  app.patch('/workspaces/:wid/orders/:id/status', {
    config: { auth: 'user', workspace: 'orders:manage', changesCatalog: true },
    schema: {
      operationId: 'setOrderStatus',
      tags: wsTags,
      summary: 'Move an order along (shipped, delivered, cancelled); an illegal move is 409',
      description: 'Cancelling a paid order refunds it, so it needs what a refund needs: the orders:refund permission (403 otherwise) and a sign-in within 10 minutes (401 REAUTH_REQUIRED). Cancelling an unpaid order lowers the checkout\'s payment intent to what is still owed.',
      params: WorkspaceOrderParams,
      body: StatusBody,
      response: { 200: WorkspaceOrderRef, ...problems(401, 403, 404, 409, 502) }
    }
  }, async (request) => {
    const access = { workspaceId: request.params.wid, canRefund: can(workspaceOf(request).role, 'orders:refund') }
    return setOrderStatus(deps, principalOf(request), access, request.params.id, request.body.status, request.body.reason)
  })

  app.post('/workspaces/:wid/orders/:id/refund', {
    config: { auth: 'user', workspace: 'orders:refund', idempotency: 'required' },
    preValidation: bodyDefaultsToEmpty,
    schema: {
      operationId: 'refundOrder',
      tags: wsTags,
      summary: 'Refund an order, in part or whole (recent sign-in; Idempotency-Key required)',
      description: 'A 502 means the refund is recorded and the provider is asked again automatically; a retry with the same Idempotency-Key asks for that same refund, never a second one (another amount under that key is 422).',
      params: WorkspaceOrderParams,
      body: RefundBody,
      response: { 200: WorkspaceOrderRef, ...problems(404, 409, 422, 502) }
    }
  }, async (request) => refundOrder(deps, principalOf(request), request.params.wid, request.params.id, request.body.amount, request.body.reason, request.headers['idempotency-key'] as string))

  // Platform moderation (issue 15, item 4): admins see every workspace's orders.
  app.get('/admin/orders', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'listAllOrders',
      tags: ['admin'],
      summary: 'Every workspace\'s orders, newest first (platform admins)',
      description: 'Optionally of one workspace, one customer or one status. Keyset pagination: pass nextCursor back with the same filters.',
      querystring: AdminOrderQuery,
      response: { 200: OrderPage }
    }
  }, async (request) => listOrders(deps, { workspaceId: request.query.workspaceId, userId: request.query.userId, status: request.query.status }, request.query))

  app.get('/admin/orders/:id', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'getAnyOrder',
      tags: ['admin'],
      summary: 'Any order, with items and history (platform admins)',
      description: 'Whatever its workspace or customer.',
      params: OrderParams,
      response: { 200: OrderRef, ...problems(404) }
    }
  }, async (request) => getOrder(deps, { id: request.params.id }))
}

export default orders
