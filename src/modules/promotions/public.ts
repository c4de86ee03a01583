// What other modules may use of `promotions` (issue 14, plan §2.3, §2.4).
export { appliedPromotionFacts, type Unavailable } from './facts.ts'
export { consumePromotion, unavailable as unavailablePromotion, type PromotionUse } from './consume.ts'
export { PromotionView } from './schemas.ts'
export type { PricedCart, CartReader } from './apply.ts'
