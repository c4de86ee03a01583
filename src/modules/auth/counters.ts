import { defineCounter } from '../../platform/metrics.ts'

// What auth counts for the operators' dashboards (served at /metrics; see platform/metrics.ts).

export const signIns = defineCounter({
  name: 'bazaar_sign_ins_total',
  help: 'Successful sign-ins, by method: password, otp (an emailed or texted code), signup (signed in by completing a sign-up)',
  labelNames: ['method'],
  initial: [{ method: 'password' }, { method: 'otp' }, { method: 'signup' }]
})
