import t from 'tap'
import pino from 'pino'
import { createTestEnv } from '../helpers/app.ts'
import { redisScripts } from '../../src/redis-scripts.ts'
import { connectDeps } from '../../src/platform/deps.ts'
import { closeRedis, createRedis, withScripts } from '../../src/platform/redis.ts'
import { limiterScripts, hit } from '../../src/platform/limiter.ts'
import { sessionScripts } from '../../src/modules/sessions/scripts.ts'

// Custom commands are defined when a client is created, never on first use: with
// auto-pipelining a lazy definition crashes the process under concurrent first traffic (see
// burst.test.ts for the crash itself).

const names = redisScripts.map((s) => s.name)

t.test('every module\'s scripts are listed once and defined on the API\'s client before it serves a request', async (t) => {
  t.ok(limiterScripts.every((s) => names.includes(s.name)), 'the limiter\'s')
  t.ok(sessionScripts.every((s) => names.includes(s.name)), 'the sessions store\'s')
  t.equal(new Set(names).size, names.length, 'no name twice')

  const { app } = await createTestEnv(t)
  for (const name of names) t.type((app.redis as unknown as Record<string, unknown>)[name], 'function', `${name} is defined on the API client`)
})

t.test('the worker\'s and scripts\' clients (connectDeps) define them too; a client created without them is refused, not patched', async (t) => {
  const { config } = await createTestEnv(t, { api: false })
  const { deps, close } = await connectDeps(config, { log: pino({ level: 'silent' }), scripts: redisScripts })
  t.teardown(close)
  for (const name of names) t.type((deps.redis as unknown as Record<string, unknown>)[name], 'function', `${name} is defined`)

  const bare = createRedis(config, 'api')
  t.teardown(() => closeRedis(bare))
  t.throws(() => withScripts(bare, limiterScripts), /limiterHit was not defined when the client was created/)
  await t.rejects(hit(bare, { name: 'x', max: 1, windowMs: 1000 }, 'y'), /was not defined when the client was created/)
  t.notOk('limiterHit' in bare, 'nothing was defined lazily')
})
