// What other modules may use of `pricing` (issue 14): the one computation of totals, and the
// facts it needs as columns of the caller's statement.
export {
  computeTotals,
  type Destination, type PricedCheckout, type PricedLine, type PricedOrder, type PricingContext, type PricingIssue, type PricingLine,
  type PromotionTerms, type ShippingRateTerms, type TaxRateTerms
} from './totals.ts'
export { destinationFrom, destinationOf, pricingContextColumns, toPricingContext, type DestinationFacts, type PricingContextRow, type PricingFacts } from './context.ts'
export { shippingOptions, type ShippingOptions } from './shipping-choice.ts'
export { TotalsRef, TotalsView } from './schemas.ts'
