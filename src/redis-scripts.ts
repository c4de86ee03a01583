import { ownedKeyScripts, type RedisScript } from './platform/redis.ts'
import { limiterScripts } from './platform/limiter.ts'
import { sessionScripts } from './modules/sessions/public.ts'

// Every custom Redis command (Lua script) of the system. Each module owns its scripts' text;
// the API (app.ts), the worker and the scripts define them all when they create their Redis
// client, before any traffic, never lazily (see RedisScript in platform/redis.ts).
export const redisScripts: readonly RedisScript[] = [
  ...ownedKeyScripts,
  ...limiterScripts,
  ...sessionScripts
]
