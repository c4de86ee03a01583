import { Type, type Static } from '@sinclair/typebox'
import { MoneyRef } from '../../platform/money.ts'
import { Nullable, Strict, Uuid } from '../../platform/schema-types.ts'

/** The most one cart line holds, whether set at once or reached by adding to it. */
export const MAX_LINE_QUANTITY = 999
const Quantity = Type.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY })

export const CartLine = Type.Object({
  id: Uuid(),
  variantId: Uuid(),
  productId: Uuid(),
  workspaceId: Uuid(),
  title: Type.String(),
  size: Nullable(Type.String()),
  sku: Type.String(),
  quantity: Type.Integer(),
  stock: Type.Integer(),
  available: Type.Boolean({ description: 'false when the product left the catalog or there is not enough stock' }),
  unitPrice: MoneyRef,
  lineTotal: MoneyRef
})
/** A line as checkout reads it: `sold` (on sale now, the catalog's rule) stays in the process. */
export type CartLine = Static<typeof CartLine> & { sold: boolean }

export const CartView = Type.Object({
  items: Type.Array(CartLine),
  totals: Type.Array(MoneyRef, { description: 'one total per currency, at current prices, of the lines still on sale' }),
  itemCount: Type.Integer()
}, {
  $id: 'CartView',
  examples: [{
    items: [{
      id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e90',
      variantId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e83',
      productId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f',
      workspaceId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80',
      title: 'Linen shirt',
      size: 'M',
      sku: 'LIN-M',
      quantity: 2,
      stock: 20,
      available: true,
      unitPrice: { amount: 4410, currency: 'usd' },
      lineTotal: { amount: 8820, currency: 'usd' }
    }],
    totals: [{ amount: 8820, currency: 'usd' }],
    itemCount: 2
  }]
})
export type CartView = Static<typeof CartView>
export const CartRef = Type.Ref(CartView)

export const AddItemBody = Strict({ variantId: Uuid(), quantity: Quantity }, { examples: [{ variantId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f', quantity: 2 }] })
export const QuantityBody = Strict({ quantity: Quantity }, { examples: [{ quantity: 3 }] })
export const ItemParams = Type.Object({ id: Uuid() })
