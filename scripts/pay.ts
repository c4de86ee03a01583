import pino from 'pino'
import { connectDeps } from '../src/platform/deps.ts'
import { redisScripts } from '../src/redis-scripts.ts'
import { simulatePayment } from '../src/modules/payments/public.ts'
import { loadDevConfig } from './lib/dev-env.ts'

// npm run pay -- <checkoutId> [--fail]
// The local payment simulator (development without Stripe credentials): settles a checkout
// through the same code path as a signed Stripe webhook, then prints its orders.

const args = process.argv.slice(2)
const checkoutId = args.find((a) => !a.startsWith('--'))
if (!checkoutId || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(checkoutId)) {
  console.error('usage: npm run pay -- <checkoutId> [--fail]')
  process.exit(2)
}
const outcome = args.includes('--fail') ? 'fail' : 'succeed'

const config = loadDevConfig()
if (config.env === 'production') {
  console.error('pay: the payment simulator never runs in production.')
  process.exit(2)
}
const { deps, close } = await connectDeps(config, { log: pino({ level: 'warn' }), scripts: redisScripts })
let exitCode = 0
try {
  const { duplicate } = await simulatePayment(deps, checkoutId, outcome)
  const orders = await deps.db.selectFrom('orders').select(['id', 'status', 'paymentStatus']).where('checkoutId', '=', checkoutId).orderBy('id').execute()
  console.log(`Checkout ${checkoutId}: payment ${outcome === 'succeed' ? 'succeeded' : 'failed'}${duplicate ? ' (already recorded)' : ''}.`)
  for (const order of orders) console.log(`  order ${order.id}: ${order.status}, ${order.paymentStatus}`)
} catch (err) {
  console.error(`pay failed: ${(err as Error).message}`)
  exitCode = 1
} finally {
  await close()
}
process.exit(exitCode)
