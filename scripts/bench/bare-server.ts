import Fastify from 'fastify'

// The yardstick: a bare Fastify hello-world answering the same path as our liveness probe.
const app = Fastify({ logger: false })
app.get('/health/live', async () => ({ status: 'ok' }))
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0) })
process.stdout.write(`LISTENING ${(app.server.address() as { port: number }).port}\n`)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
