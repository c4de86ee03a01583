// What other modules may use of `cart`.
export { pricingLinesOf, takeCart } from './service.ts'
export { CartView, type CartLine } from './schemas.ts'
