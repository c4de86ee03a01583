import { defineTemplate, html, layout } from '../../platform/mail.ts'

// Every auth email carries its code or link in both the text and the HTML part.

export const authEmails = {
  'signup-code': defineTemplate((v: { name: string, code: string, link: string, minutes: number }) => ({
    subject: 'Confirm your Bazaar account',
    text: `Hello ${v.name},\n\nYour confirmation code is ${v.code}.\nIt expires in ${v.minutes} minutes. You can also open ${v.link}\n\nIf you did not sign up, ignore this email.`,
    html: layout('Confirm your Bazaar account', html`<p>Hello ${v.name},</p><p>Your confirmation code is <strong style="font-size:20px;letter-spacing:2px">${v.code}</strong>.</p><p>It expires in ${v.minutes} minutes. You can also <a href="${v.link}">confirm here</a>.</p><p>If you did not sign up, ignore this email.</p>`)
  })),
  'signup-account-exists': defineTemplate((v: { name: string, signInLink: string, resetLink: string }) => ({
    subject: 'You already have a Bazaar account',
    text: `Hello ${v.name},\n\nSomeone (hopefully you) tried to sign up with this email, but it already has an account.\nSign in: ${v.signInLink}\nForgot your password? ${v.resetLink}\n\nIf it was not you, ignore this email.`,
    html: layout('You already have a Bazaar account', html`<p>Hello ${v.name},</p><p>Someone (hopefully you) tried to sign up with this email, but it already has an account.</p><p><a href="${v.signInLink}">Sign in</a> or <a href="${v.resetLink}">reset your password</a>.</p><p>If it was not you, ignore this email.</p>`)
  })),
  'signin-code': defineTemplate((v: { code: string, minutes: number }) => ({
    subject: 'Your Bazaar sign-in code',
    text: `Your sign-in code is ${v.code}.\nIt expires in ${v.minutes} minutes and works once.\n\nIf you did not ask for it, ignore this email.`,
    html: layout('Your Bazaar sign-in code', html`<p>Your sign-in code is <strong style="font-size:20px;letter-spacing:2px">${v.code}</strong>.</p><p>It expires in ${v.minutes} minutes and works once.</p><p>If you did not ask for it, ignore this email.</p>`)
  })),
  'email-change-code': defineTemplate((v: { name: string, code: string, minutes: number }) => ({
    subject: 'Confirm your new email address',
    text: `Hello ${v.name},\n\nYour code to confirm this address is ${v.code}. It expires in ${v.minutes} minutes.`,
    html: layout('Confirm your new email address', html`<p>Hello ${v.name},</p><p>Your code to confirm this address is <strong>${v.code}</strong>. It expires in ${v.minutes} minutes.</p>`)
  })),
  'email-changed': defineTemplate((v: { name: string, newEmail: string, time: string, resetLink: string }) => ({
    subject: 'Your Bazaar email address was changed',
    text: `Hello ${v.name},\n\nThe email address of your Bazaar account was changed to ${v.newEmail} at ${v.time}. This address no longer signs in.\nIf this was not you, someone may have taken over your account: contact Bazaar support right away (password resets: ${v.resetLink}).`,
    html: layout('Your email address was changed', html`<p>Hello ${v.name},</p><p>The email address of your Bazaar account was changed to <strong>${v.newEmail}</strong> at ${v.time}. This address no longer signs in.</p><p>If this was not you, someone may have taken over your account: contact Bazaar support right away (password resets: <a href="${v.resetLink}">${v.resetLink}</a>).</p>`)
  })),
  'new-signin': defineTemplate((v: { name: string, device: string, place: string, time: string, sessionsLink: string }) => ({
    subject: 'New sign-in to your Bazaar account',
    text: `Hello ${v.name},\n\nYour account was signed in from a new device.\nDevice: ${v.device}\nPlace: ${v.place}\nTime: ${v.time}\n\nIf this was not you, end the session at ${v.sessionsLink} and change your password.`,
    html: layout('New sign-in', html`<p>Hello ${v.name},</p><p>Your account was signed in from a new device.</p><ul><li>Device: ${v.device}</li><li>Place: ${v.place}</li><li>Time: ${v.time}</li></ul><p>If this was not you, <a href="${v.sessionsLink}">end the session</a> and change your password.</p>`)
  })),
  'password-reset': defineTemplate((v: { name: string, link: string, minutes: number }) => ({
    subject: 'Reset your Bazaar password',
    text: `Hello ${v.name},\n\nReset your password here: ${v.link}\nThe link works once and expires in ${v.minutes} minutes.\n\nIf you did not ask for it, ignore this email.`,
    html: layout('Reset your Bazaar password', html`<p>Hello ${v.name},</p><p><a href="${v.link}">Reset your password</a> (or open ${v.link}).</p><p>The link works once and expires in ${v.minutes} minutes.</p><p>If you did not ask for it, ignore this email.</p>`)
  })),
  'password-changed': defineTemplate((v: { name: string, time: string }) => ({
    subject: 'Your Bazaar password was changed',
    text: `Hello ${v.name},\n\nYour password was changed at ${v.time}, and your other sessions were ended.\nIf this was not you, reset your password at once.`,
    html: layout('Your password was changed', html`<p>Hello ${v.name},</p><p>Your password was changed at ${v.time}, and your other sessions were ended.</p><p>If this was not you, reset your password at once.</p>`)
  })),
  welcome: defineTemplate((v: { name: string, appLink: string }) => ({
    subject: 'Welcome to Bazaar',
    text: `Hello ${v.name},\n\nYour account is ready: ${v.appLink}`,
    html: layout('Welcome to Bazaar', html`<p>Hello ${v.name},</p><p>Your account is ready. <a href="${v.appLink}">Open Bazaar</a>.</p>`)
  }))
}
