import { defineTemplate, html, layout } from '../../platform/mail.ts'
import type { ReviewDecision } from './schemas.ts'

export const vendorReviewEmail = defineTemplate('vendor-review', (v: { name: string, businessName: string, status: ReviewDecision, reason: string | null }) => ({
  subject: v.status === 'approved' ? `${v.businessName} is approved on Bazaar` : `${v.businessName} needs changes before approval`,
  text: v.status === 'approved'
    ? `Hello ${v.name},\n\nYour vendor profile for ${v.businessName} is approved: your products now appear in the catalog.`
    : `Hello ${v.name},\n\nYour vendor profile for ${v.businessName} was not approved.\nReason: ${v.reason ?? 'not given'}\n\nUpdate the profile and ask for a new review.`,
  html: layout('Vendor profile review', v.status === 'approved'
    ? html`<p>Hello ${v.name},</p><p>Your vendor profile for <strong>${v.businessName}</strong> is approved: your products now appear in the catalog.</p>`
    : html`<p>Hello ${v.name},</p><p>Your vendor profile for <strong>${v.businessName}</strong> was not approved.</p><p>Reason: ${v.reason ?? 'not given'}</p><p>Update the profile and ask for a new review.</p>`)
}))
export const vendorReviewRequestedEmail = defineTemplate('vendor-review-requested', (v: { businessName: string, profileId: string, changed: string[], url: string }) => ({
  subject: `Vendor profile to review again: ${v.businessName}`,
  text: `The vendor profile ${v.businessName} (${v.profileId}) changed its legal identity (${v.changed.join(', ')}) and waits for review: its products stay out of the catalog until it is approved.\n\n${v.url}`,
  html: layout('Vendor profile to review', html`<p>The vendor profile <strong>${v.businessName}</strong> (${v.profileId}) changed its legal identity (${v.changed.join(', ')}) and waits for review: its products stay out of the catalog until it is approved.</p><p><a href="${v.url}">${v.url}</a></p>`)
}))
