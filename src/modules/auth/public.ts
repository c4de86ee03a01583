// What the root files (app.ts, worker.ts, schemas.ts) may use of `auth`; no module imports auth.
export { default as authGuard, type AuthMode } from './guard.ts'
export { Tokens } from './schemas.ts'
export { passwordChangedEmail, passwordResetEmail, signinCodeEmail, signupCodeEmail, welcomeEmail } from './emails.ts'
export * as authEmails from './emails.ts'
export * as authCounters from './counters.ts'
