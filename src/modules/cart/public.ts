// What other modules may use of `cart`.
export { takeCart, getCart, type CartSelection } from './service.ts'
export { pricingLinesOf } from './summary.ts'
export { CartView, type CartLine } from './schemas.ts'
