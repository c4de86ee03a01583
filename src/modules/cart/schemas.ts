import { Type } from '@sinclair/typebox'
import { MoneyRef } from '../../platform/money.ts'

const strict = { additionalProperties: false } as const
const Uuid = Type.String({ format: 'uuid' })
/** The most one cart line holds, whether set at once or reached by adding to it. */
export const MAX_LINE_QUANTITY = 999
const Quantity = Type.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY })

export const CartLine = Type.Object({
  id: Uuid,
  variantId: Uuid,
  productId: Uuid,
  workspaceId: Uuid,
  title: Type.String(),
  size: Type.Union([Type.String(), Type.Null()]),
  sku: Type.String(),
  quantity: Type.Integer(),
  stock: Type.Integer(),
  available: Type.Boolean({ description: 'false when the product left the catalog or there is not enough stock' }),
  unitPrice: MoneyRef,
  lineTotal: MoneyRef
})

export const CartView = Type.Object({
  items: Type.Array(CartLine),
  totals: Type.Array(MoneyRef, { description: 'one total per currency, at current prices, of the lines still on sale' }),
  itemCount: Type.Integer()
}, { $id: 'CartView' })
export const CartRef = Type.Ref('CartView')

export const AddItemBody = Type.Object({ variantId: Uuid, quantity: Quantity }, { ...strict, examples: [{ variantId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f', quantity: 2 }] })
export const QuantityBody = Type.Object({ quantity: Quantity }, { ...strict, examples: [{ quantity: 3 }] })
export const ItemParams = Type.Object({ id: Uuid })
