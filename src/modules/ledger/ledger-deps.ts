import type { Deps } from '../../platform/deps.ts'
import type { ConnectGateway } from '../../platform/payment-connect.ts'

/** What the transfer jobs need besides the usual dependencies: the provider's Connect API. */
export interface LedgerDeps extends Deps { connect: ConnectGateway }

/** After this long the provider may have pruned an idempotency key: a retry looks the object up first. */
export const KEY_PRUNE_MS = 23 * 3600 * 1000

/**
 * Refusals that say "not now" rather than "no": the same key is still being processed (a
 * duplicated job racing its twin), or a lock at the provider. Retried like an outage.
 */
const TRANSIENT = new Set(['idempotency_key_in_use', 'lock_timeout'])

/** The provider's refusal code, when it refused for good (409 PAYMENT_PROVIDER_REJECTED); null to retry. */
export function refusalCode (err: unknown): string | null {
  const e = err as { code?: string, extra?: Record<string, unknown> }
  if (e?.code !== 'PAYMENT_PROVIDER_REJECTED') return null
  const code = typeof e.extra?.providerCode === 'string' ? e.extra.providerCode : 'refused'
  return TRANSIENT.has(code) ? null : code
}
