// What other modules (and worker.ts) may use of `vendor-profiles`.
export { isApprovedVendor, holdVendorApproval } from './approval.ts'
export { ProfileView, ReviewStatus } from './schemas.ts'
export { vendorReviewEmail, vendorReviewRequestedEmail } from './emails.ts'
export * as vendorProfileEmails from './emails.ts'
