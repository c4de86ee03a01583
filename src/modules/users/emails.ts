import { defineTemplate, html, layout } from '../../platform/mail.ts'

// Emails to the account's address: about the email change, a sign-up (auth) of an address that
// already has an account, and a phone that proved itself on the account.

export const signupAccountExistsEmail = defineTemplate('signup-account-exists', (v: { name: string, signInLink: string, resetLink: string }) => ({
  subject: 'You already have a Bazaar account',
  text: `Hello ${v.name},\n\nSomeone (hopefully you) tried to sign up with this email, but it already has an account.\nSign in: ${v.signInLink}\nForgot your password? ${v.resetLink}\n\nIf it was not you, ignore this email.`,
  html: layout('You already have a Bazaar account', html`<p>Hello ${v.name},</p><p>Someone (hopefully you) tried to sign up with this email, but it already has an account.</p><p><a href="${v.signInLink}">Sign in</a> or <a href="${v.resetLink}">reset your password</a>.</p><p>If it was not you, ignore this email.</p>`)
}))
export const emailChangeCodeEmail = defineTemplate('email-change-code', (v: { name: string, code: string, minutes: number }) => ({
  subject: 'Confirm your new email address',
  text: `Hello ${v.name},\n\nYour code to confirm this address is ${v.code}. It expires in ${v.minutes} minutes.`,
  html: layout('Confirm your new email address', html`<p>Hello ${v.name},</p><p>Your code to confirm this address is <strong>${v.code}</strong>. It expires in ${v.minutes} minutes.</p>`)
}))
export const emailChangedEmail = defineTemplate('email-changed', (v: { name: string, newEmail: string, time: string, resetLink: string }) => ({
  subject: 'Your Bazaar email address was changed',
  text: `Hello ${v.name},\n\nThe email address of your Bazaar account was changed to ${v.newEmail} at ${v.time}. This address no longer signs in.\nIf this was not you, someone may have taken over your account: contact Bazaar support right away (password resets: ${v.resetLink}).`,
  html: layout('Your email address was changed', html`<p>Hello ${v.name},</p><p>The email address of your Bazaar account was changed to <strong>${v.newEmail}</strong> at ${v.time}. This address no longer signs in.</p><p>If this was not you, someone may have taken over your account: contact Bazaar support right away (password resets: <a href="${v.resetLink}">${v.resetLink}</a>).</p>`)
}))
export const phoneAddedEmail = defineTemplate('phone-added', (v: { name: string, phoneEnding: string, time: string, resetLink: string }) => ({
  subject: 'A phone was added to your Bazaar account',
  text: `Hello ${v.name},\n\nThe phone number ending in ${v.phoneEnding} was confirmed on your Bazaar account at ${v.time}; it can now receive sign-in codes.\nIf this was not you, reset your password: ${v.resetLink}\nA reset signs out every session and removes the phone from sign-in.`,
  html: layout('A phone was added to your account', html`<p>Hello ${v.name},</p><p>The phone number ending in <strong>${v.phoneEnding}</strong> was confirmed on your Bazaar account at ${v.time}; it can now receive sign-in codes.</p><p>If this was not you, <a href="${v.resetLink}">reset your password</a>: a reset signs out every session and removes the phone from sign-in.</p>`)
}))
