// What other modules may use of `cart`.
export { cartLines, clearCart, lockCart } from './service.ts'
export { CartView } from './schemas.ts'
