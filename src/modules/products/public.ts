// What other modules may use of `products`.
export { onSale, variantOnSale, outOfStock, lockVariantsOf, takeStock, returnStock, type StockLine, type StockLinesQuery } from './stock.ts'
export { variantFacts, sellableStock, sellableVariant } from './variant-facts.ts'
export { retireWorkspaceProducts } from './manage.ts'
export { syncListing, type ListingScope } from './listing.ts'
export { ProductView } from './schemas.ts'
