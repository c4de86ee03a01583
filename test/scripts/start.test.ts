import { connect } from 'node:net'
import t from 'tap'
import { createTestEnv, eventually } from '../helpers/app.ts'
import { spawnServer } from '../helpers/processes.ts'

// `npm start` (scripts/start.ts) runs the API and the worker in process groups of their own and
// stops them, then the services it started, on Ctrl-C. A second Ctrl-C while that runs (the API
// drains for a while) must not exit at once and leave them all running behind it.

const accepts = (port: number) => new Promise<boolean>((resolve) => {
  const socket = connect(port, '127.0.0.1')
  socket.once('connect', () => { socket.destroy(); resolve(true) })
  socket.once('error', () => resolve(false))
})

t.test('a second Ctrl-C while npm start is stopping waits for the API and the worker to stop', async (t) => {
  const env = await createTestEnv(t, { api: false })
  // Configured Postgres and Redis: npm start starts no services of its own here.
  const start = await spawnServer(env.config, { SHUTDOWN_DRAIN_MS: '1500' }, { entry: 'scripts/start.ts' })
  t.teardown(() => start.kill())
  await eventually(() => start.output().includes('Press Ctrl-C to stop.'), 60000)

  start.child.kill('SIGINT')
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.ok(start.alive(), 'stopping after the first Ctrl-C')
  start.child.kill('SIGINT')
  t.equal(await start.exited, 0, 'npm start exits 0')
  t.match(start.output(), /still stopping/, 'the second Ctrl-C is acknowledged')
  t.notOk(await accepts(start.port), 'the API no longer listens once npm start has exited')
  t.match(start.output(), /worker stopped|worker: SIGTERM received/, 'the worker was stopped')
})
