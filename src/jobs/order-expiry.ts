import type { OrderDeps } from '../modules/orders/service.ts'
import { expireUnpaidOrders } from '../modules/orders/service.ts'

const LOCK_KEY = 'lock:order-expiry'
const LOCK_MS = 5 * 60_000

/** Cancels orders unpaid after 30 minutes (after asking the provider), one run at a time. */
export function createOrderExpiryProcessor (deps: OrderDeps) {
  return async (): Promise<{ confirmed: number, cancelled: number, skipped?: true }> => {
    const token = deps.random.token(16)
    if (await deps.redis.set(LOCK_KEY, token, 'PX', LOCK_MS, 'NX') !== 'OK') return { confirmed: 0, cancelled: 0, skipped: true }
    try {
      return await expireUnpaidOrders(deps)
    } finally {
      await deps.redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, LOCK_KEY, token)
    }
  }
}
