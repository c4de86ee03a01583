import { defineTemplate, html, layout } from '../../platform/mail.ts'

export const workspaceInvitationEmail = defineTemplate('workspace-invitation', (v: { workspaceName: string, inviterName: string, role: string, link: string, days: number }) => ({
  subject: `${v.inviterName} invited you to ${v.workspaceName} on Bazaar`,
  text: `${v.inviterName} invited you to join ${v.workspaceName} as ${v.role}.\n\nAccept: ${v.link}\n\nSign in (or sign up) with this email address first. The invitation works once and expires in ${v.days} days.`,
  html: layout(`Join ${v.workspaceName}`, html`<p>${v.inviterName} invited you to join <strong>${v.workspaceName}</strong> as ${v.role}.</p><p><a href="${v.link}">Accept the invitation</a> (or open ${v.link}).</p><p>Sign in (or sign up) with this email address first. The invitation works once and expires in ${v.days} days.</p>`)
}))
