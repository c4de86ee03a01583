// What other modules may use of `cart`.
export { takeCart } from './service.ts'
export { CartView, type CartLine } from './schemas.ts'
