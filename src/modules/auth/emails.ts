import { defineTemplate, html, layout } from '../../platform/mail.ts'

// Every auth email carries its code or link in both the text and the HTML part.

export const signupCodeEmail = defineTemplate('signup-code', (v: { name: string, code: string, link: string, minutes: number }) => ({
  subject: 'Confirm your Bazaar account',
  text: `Hello ${v.name},\n\nYour confirmation code is ${v.code}.\nIt expires in ${v.minutes} minutes. You can also open ${v.link}\n\nIf you did not sign up, ignore this email.`,
  html: layout('Confirm your Bazaar account', html`<p>Hello ${v.name},</p><p>Your confirmation code is <strong style="font-size:20px;letter-spacing:2px">${v.code}</strong>.</p><p>It expires in ${v.minutes} minutes. You can also <a href="${v.link}">confirm here</a>.</p><p>If you did not sign up, ignore this email.</p>`)
}))
export const signinCodeEmail = defineTemplate('signin-code', (v: { code: string, minutes: number }) => ({
  subject: 'Your Bazaar sign-in code',
  text: `Your sign-in code is ${v.code}.\nIt expires in ${v.minutes} minutes and works once.\n\nIf you did not ask for it, ignore this email.`,
  html: layout('Your Bazaar sign-in code', html`<p>Your sign-in code is <strong style="font-size:20px;letter-spacing:2px">${v.code}</strong>.</p><p>It expires in ${v.minutes} minutes and works once.</p><p>If you did not ask for it, ignore this email.</p>`)
}))
export const passwordResetEmail = defineTemplate('password-reset', (v: { name: string, link: string, minutes: number }) => ({
  subject: 'Reset your Bazaar password',
  text: `Hello ${v.name},\n\nReset your password here: ${v.link}\nThe link works once and expires in ${v.minutes} minutes. A reset signs out every session and removes the phone from sign-in: confirm your phone again afterwards to sign in with it.\n\nIf you did not ask for it, ignore this email.`,
  html: layout('Reset your Bazaar password', html`<p>Hello ${v.name},</p><p><a href="${v.link}">Reset your password</a> (or open ${v.link}).</p><p>The link works once and expires in ${v.minutes} minutes. A reset signs out every session and removes the phone from sign-in: confirm your phone again afterwards to sign in with it.</p><p>If you did not ask for it, ignore this email.</p>`)
}))
export const passwordChangedEmail = defineTemplate('password-changed', (v: { name: string, time: string }) => ({
  subject: 'Your Bazaar password was changed',
  text: `Hello ${v.name},\n\nYour password was changed at ${v.time}, and your other sessions were ended.\nIf this was not you, reset your password at once.`,
  html: layout('Your password was changed', html`<p>Hello ${v.name},</p><p>Your password was changed at ${v.time}, and your other sessions were ended.</p><p>If this was not you, reset your password at once.</p>`)
}))
export const welcomeEmail = defineTemplate('welcome', (v: { name: string, appLink: string }) => ({
  subject: 'Welcome to Bazaar',
  text: `Hello ${v.name},\n\nYour account is ready: ${v.appLink}`,
  html: layout('Welcome to Bazaar', html`<p>Hello ${v.name},</p><p>Your account is ready. <a href="${v.appLink}">Open Bazaar</a>.</p>`)
}))
