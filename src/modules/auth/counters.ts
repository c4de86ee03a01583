import { defineCounter } from '../../platform/metrics.ts'

// What auth counts for the operators' dashboards (served at /metrics; see platform/metrics.ts).

export const signIns = defineCounter({
  name: 'bazaar_sign_ins_total',
  help: 'Successful sign-ins, by method: password, otp (an emailed or texted code), signup (signed in by completing a sign-up)',
  labelNames: ['method'],
  initial: [{ method: 'password' }, { method: 'otp' }, { method: 'signup' }]
})

export const passwordChecks = defineCounter({
  name: 'bazaar_password_checks_total',
  help: 'argon2id verifications at password sign-in, by what the password was checked against: account (its hash) or stand_in (no such account, or one without a password: the same work, so a wrong email answers as slowly as a wrong password). A rise in stand_in is someone trying addresses that are not accounts',
  labelNames: ['against'],
  initial: [{ against: 'account' }, { against: 'stand_in' }]
})
