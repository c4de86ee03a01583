import fp from 'fastify-plugin'
import type { FastifyRequest, RouteOptions } from 'fastify'
import { Forbidden, NotFound, Problem } from '../../platform/errors.ts'
import { principalOf } from '../../platform/principal.ts'
import { can, type Permission, type WorkspaceRole } from './permissions.ts'
import { membershipRole } from './members.ts'
import { appendHook } from '../../platform/route-hooks.ts'

// The workspace guard for routes under /workspaces/:wid (or /workspaces/:id):
//   config: { auth: 'user', workspace: 'products:write' }
// It resolves the caller's membership on every request (so a removal takes effect on the next
// one) and checks the named permission. A non-member, like a made-up id, gets 404: nobody
// learns that a workspace they do not belong to exists. A member lacking the permission gets 403.

export interface WorkspaceAccess { id: string, role: WorkspaceRole }

export default fp(async (app) => {
  app.decorateRequest('workspace', null)

  app.addHook('onRoute', (route: RouteOptions) => {
    const permission = (route.config as { workspace?: Permission } | undefined)?.workspace
    if (!permission) return
    // Runs after validation, so the id is a well-formed UUID by now.
    route.preHandler = appendHook(route.preHandler, (async (request: FastifyRequest) => {
      const params = request.params as { wid?: string, id?: string }
      const workspaceId = params.wid ?? params.id
      if (!workspaceId) throw NotFound('NOT_FOUND', 'workspace not found')
      const role = await membershipRole(app.db, principalOf(request).userId, workspaceId)
      if (!role) throw NotFound('NOT_FOUND', 'workspace not found')
      if (!can(role, permission)) throw Forbidden('FORBIDDEN', `Your role (${role}) does not allow ${permission}.`)
      request.workspace = { id: workspaceId, role }
    }) as never)
    const schema = (route.schema ??= {}) as Record<string, unknown>
    const response = (schema.response ??= {}) as Record<string, unknown>
    response['403'] ??= Problem
    response['404'] ??= Problem
  })
}, { name: 'workspace-guard', dependencies: ['db', 'principal', 'auth-guard'] })

/** The workspace a guarded route runs in. */
export function workspaceOf (request: FastifyRequest): WorkspaceAccess {
  if (!request.workspace) throw NotFound('NOT_FOUND', 'workspace not found')
  return request.workspace
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The workspace permission a /workspaces/:wid route needs; see modules/workspaces/guard.ts. */
    workspace?: Permission
  }
  interface FastifyRequest {
    workspace: WorkspaceAccess | null
  }
}
