import type { Deps } from './deps.ts'
import { consume, hit, type Limit } from './limiter.ts'
import { rateLimitedClient } from './security.ts'

// Texts cost money and can be pumped to premium-rate numbers: one hourly budget per client
// (an IPv4 address or an IPv6 /64, as the per-IP limiter counts), however the text is asked
// for: sign-up, its resend or resume, sign-in codes and phone verification.

export const SMS_PER_CLIENT: Limit = { name: 'sms-client', max: 20, windowMs: 3600_000 }

const clientSubject = (deps: Pick<Deps, 'sealer'>, ip: string) => deps.sealer.lookupHash(`ip:${rateLimitedClient(ip)}`)

/** Counts a text against the client's budget; false past it (for callers that answer alike either way). */
export async function smsBudgetAllows (deps: Pick<Deps, 'redis' | 'sealer'>, ip: string): Promise<boolean> {
  return (await hit(deps.redis, SMS_PER_CLIENT, clientSubject(deps, ip))).count <= SMS_PER_CLIENT.max
}

/** The same, answering 429 past the budget, for callers whose answer may say so. */
export async function consumeSmsBudget (deps: Pick<Deps, 'redis' | 'sealer'>, ip: string): Promise<void> {
  await consume(deps.redis, SMS_PER_CLIENT, clientSubject(deps, ip))
}
