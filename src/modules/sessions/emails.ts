import { defineTemplate, html, layout } from '../../platform/mail.ts'

// DB-IP Lite's licence (CC BY 4.0) asks for this link wherever its answers are shown.
const DB_IP_CREDIT = 'IP Geolocation by DB-IP'

export const newSigninEmail = defineTemplate('new-signin', (v: { name: string, device: string, place: string, placedByDbIp: boolean, time: string, sessionsLink: string }) => ({
  subject: 'New sign-in to your Bazaar account',
  text: `Hello ${v.name},\n\nYour account was signed in from a new device.\nDevice: ${v.device}\nPlace: ${v.place}\nTime: ${v.time}\n\nIf this was not you, end the session at ${v.sessionsLink} and change your password.${v.placedByDbIp ? `\n\n${DB_IP_CREDIT} (https://db-ip.com)` : ''}`,
  html: layout('New sign-in', html`<p>Hello ${v.name},</p><p>Your account was signed in from a new device.</p><ul><li>Device: ${v.device}</li><li>Place: ${v.place}</li><li>Time: ${v.time}</li></ul><p>If this was not you, <a href="${v.sessionsLink}">end the session</a> and change your password.</p>` +
    (v.placedByDbIp ? `<p><small><a href="https://db-ip.com">${DB_IP_CREDIT}</a></small></p>` : ''))
}))
