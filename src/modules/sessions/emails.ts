import { defineTemplate, html, layout } from '../../platform/mail.ts'

export const newSigninEmail = defineTemplate('new-signin', (v: { name: string, device: string, place: string, time: string, sessionsLink: string }) => ({
  subject: 'New sign-in to your Bazaar account',
  text: `Hello ${v.name},\n\nYour account was signed in from a new device.\nDevice: ${v.device}\nPlace: ${v.place}\nTime: ${v.time}\n\nIf this was not you, end the session at ${v.sessionsLink} and change your password.`,
  html: layout('New sign-in', html`<p>Hello ${v.name},</p><p>Your account was signed in from a new device.</p><ul><li>Device: ${v.device}</li><li>Place: ${v.place}</li><li>Time: ${v.time}</li></ul><p>If this was not you, <a href="${v.sessionsLink}">end the session</a> and change your password.</p>`)
}))
