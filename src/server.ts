import { fileURLToPath } from 'node:url'
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { buildApp } from './app.ts'
import { loadConfigOrExit, type Config } from './config.ts'
import { startTracing, stopTracing } from './platform/tracing.ts'

// The API process. On SIGTERM/SIGINT: readiness turns 503 and stays so for SHUTDOWN_DRAIN_MS
// while requests are still served (a load balancer sees the instance leave before it goes),
// then the listener stops taking new connections, in-flight requests finish, and Postgres and
// Redis close.

export async function startServer (config: Config, plugins: FastifyPluginAsync[] = []): Promise<FastifyInstance> {
  const app = await buildApp(config, { plugins })
  await app.listen({ host: config.host, port: config.port })

  // A promise one request left unhandled is that request's bug, not the process's: it is
  // logged, and every other request keeps being served. (An exception thrown outside any
  // promise can leave state half-changed, so that one still shuts down gracefully.)
  process.on('unhandledRejection', (err) => app.log.error({ err }, 'unhandled rejection'))

  // SIGTERM is ours: supervisors may repeat it, and a repeat must not cut the drain and the
  // in-flight requests short (close-with-grace exits at once on a second signal). A second
  // Ctrl-C (SIGINT) still forces the exit.
  let terminating = false
  const grace = closeWithGrace({ delay: config.shutdownDrainMs + 20000, logger: app.log, skip: ['unhandledRejection', 'SIGTERM'] }, async ({ err, signal: caught }) => {
    const signal = caught ?? (terminating ? 'SIGTERM' : undefined)
    if (err) app.log.error({ err }, 'closing after an unexpected error')
    else app.log.info({ signal, drainMs: config.shutdownDrainMs }, 'shutting down: draining, then finishing in-flight requests')
    app.lifecycle.shuttingDown = true
    if (signal && config.shutdownDrainMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs))
    await app.close()
    // The last spans go out before the process does (a no-op with tracing off).
    await stopTracing()
  })
  process.on('SIGTERM', () => {
    if (terminating || app.lifecycle.shuttingDown) return app.log.info('SIGTERM while shutting down: already on its way')
    terminating = true
    grace.close()
  })
  return app
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const config = loadConfigOrExit()
  // Before any connection opens: what opens one asks whether to trace it.
  await startTracing(config, 'api')
  await startServer(config)
}
