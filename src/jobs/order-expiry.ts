import { expireUnpaidOrders, type OrderDeps } from '../modules/orders/public.ts'
import { withLock } from '../platform/run-lock.ts'

// A renewed lock: a worker that dies mid-run holds up the next runs for seconds, not minutes.
const LOCK_KEY = 'lock:order-expiry'

/** Cancels orders unpaid after 30 minutes (after asking the provider) and retries refunds left pending, one run at a time. */
export function createOrderExpiryProcessor (deps: OrderDeps) {
  return async (): Promise<{ confirmed: number, cancelled: number, skipped?: true }> => {
    const result = await withLock(deps.redis, LOCK_KEY, deps.random.token(16), () => expireUnpaidOrders(deps))
    return 'skipped' in result ? { confirmed: 0, cancelled: 0, skipped: true } : result
  }
}
