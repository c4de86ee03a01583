import { defineTemplate, html, layout } from '../../platform/mail.ts'

export const vendorProfileEmails = {
  'vendor-review': defineTemplate((v: { name: string, businessName: string, status: 'approved' | 'rejected', reason: string | null }) => ({
    subject: v.status === 'approved' ? `${v.businessName} is approved on Bazaar` : `${v.businessName} needs changes before approval`,
    text: v.status === 'approved'
      ? `Hello ${v.name},\n\nYour vendor profile for ${v.businessName} is approved: your products now appear in the catalog.`
      : `Hello ${v.name},\n\nYour vendor profile for ${v.businessName} was not approved.\nReason: ${v.reason ?? 'not given'}\n\nUpdate the profile and ask for a new review.`,
    html: layout('Vendor profile review', v.status === 'approved'
      ? html`<p>Hello ${v.name},</p><p>Your vendor profile for <strong>${v.businessName}</strong> is approved: your products now appear in the catalog.</p>`
      : html`<p>Hello ${v.name},</p><p>Your vendor profile for <strong>${v.businessName}</strong> was not approved.</p><p>Reason: ${v.reason ?? 'not given'}</p><p>Update the profile and ask for a new review.</p>`)
  }))
}
