import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { sendProblem, toProblem } from './errors.ts'
import { refusalPage } from './admin-page.ts'
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'

// SPEC 9: platform admins see the queues at /admin/queues (bull-board). Its routes live in this
// plugin's scope: the admin check and the relaxed CSP (the dashboard is an HTML app with its
// own scripts and styles) apply to them alone. The /admin page (admin-page.ts) frames it, so
// it may be framed by its own origin, by no other.

const BASE_PATH = '/admin/queues'

export default async function queueDashboard (app: FastifyInstance): Promise<void> {
  const adapter = new FastifyAdapter()
  createBullBoard({
    queues: Object.values(app.queues).map((queue) => new BullMQAdapter(queue)),
    serverAdapter: adapter
  })
  adapter.setBasePath(BASE_PATH)
  // bull-board installs its own error handler in its scope, so the guard answers by itself.
  const requireAdmin = app.authenticate('admin') as (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  app.addHook('onRequest', async (request, reply) => {
    try {
      await requireAdmin(request, reply)
    } catch (err) {
      // A browser opening the page is told why in a page of its own, with the way to /admin.
      if (!request.headers.accept?.includes('text/html')) return sendProblem(reply, err)
      const problem = toProblem(err, request.id)
      return reply.code(problem.status).type('text/html; charset=utf-8').send(refusalPage(problem.status, problem.detail))
    }
  })
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'self'")
    reply.header('x-frame-options', 'SAMEORIGIN')
    return payload
  })
  await app.register(adapter.registerPlugin(), { prefix: BASE_PATH })
}
