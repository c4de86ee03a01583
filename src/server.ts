import { fileURLToPath } from 'node:url'
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import { buildApp } from './app.ts'
import { loadConfigOrExit, type Config } from './config.ts'

// The API process. On SIGTERM/SIGINT: readiness turns 503, the listener stops taking new
// connections, in-flight requests finish, then Postgres and Redis close.

export async function startServer (config: Config, plugins: FastifyPluginAsync[] = []): Promise<FastifyInstance> {
  const app = await buildApp(config, { plugins })
  await app.listen({ host: config.host, port: config.port })

  closeWithGrace({ delay: 20000, logger: app.log }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an unexpected error')
    else app.log.info({ signal }, 'shutting down: finishing in-flight requests')
    app.lifecycle.shuttingDown = true
    await app.close()
  })
  return app
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await startServer(loadConfigOrExit())
}
