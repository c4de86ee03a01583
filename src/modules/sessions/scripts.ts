import type { RedisScript } from '../../platform/redis.ts'
import { expiryScripts } from './expiry.ts'
import { storeScripts } from './store.ts'

/** Every Redis script of the sessions module, defined when a client is created. */
export const sessionScripts: readonly RedisScript[] = [...storeScripts, ...expiryScripts]
