import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { NotFound, problems } from '../../platform/errors.ts'
import type { Queryable } from '../../platform/db.ts'
import { principalOf } from '../../platform/principal.ts'
import { adminListSessions, adminSessionStats } from './admin.ts'
import { endSession, endUserSessions } from './ending.ts'
import { ActivityBody, AdminSessionsQuery, CurrentSessionBody, EndedSessions, SessionIdParams, SessionList, SessionPage, SessionRef, SessionStats, StatsQuery } from './schemas.ts'
import { currentSessionView, listUserSessions, recordActivity, setSessionWorkspace, userOwnsLiveSession } from './user-sessions.ts'

const tags = ['sessions']

export interface SessionRoutesOptions {
  /**
   * The caller's role in a workspace, null when not a member: app.ts passes workspaces'
   * membershipRole (sessions cannot import workspaces, which depends on users, which ends sessions).
   */
  membershipRole: (db: Queryable, userId: string, workspaceId: string) => Promise<string | null>
}

const sessions: FastifyPluginAsyncTypebox<SessionRoutesOptions> = async (app, { membershipRole }) => {
  const { deps } = app

  app.get('/sessions', {
    config: { auth: 'user' },
    schema: {
      operationId: 'listMySessions',
      tags,
      summary: 'The caller\'s active sessions; the current one has current: true',
      description: 'One per signed-in device or client, with where and what it is (IP; country, city, coordinates and time zone, with `locationSource` saying what placed it; browser, OS) ' +
        'and its activity counters, so a user can spot a session that is not theirs. Places from the IP database: IP Geolocation by DB-IP (https://db-ip.com).',
      response: { 200: SessionList }
    }
  }, async (request) => {
    const principal = principalOf(request)
    return { items: await listUserSessions(deps, principal.userId, principal.sessionId) }
  })

  app.delete('/sessions/:id', {
    config: { auth: 'user' },
    schema: {
      operationId: 'endSession',
      tags,
      summary: 'End one of the caller\'s sessions (another device, or this one)',
      description: 'Its tokens stop working at once. Another user\'s session id is 404, like one that does not exist.',
      params: SessionIdParams,
      response: { 204: Type.Null(), ...problems(404) }
    }
  }, async (request, reply) => {
    const principal = principalOf(request)
    // Another user's session id is as unknown as a made-up one.
    if (!await userOwnsLiveSession(deps, principal.userId, request.params.id)) throw NotFound('NOT_FOUND', 'session not found')
    await endSession(deps, request.params.id, request.params.id === principal.sessionId ? 'logout' : 'revoked')
    return reply.code(204).send(null)
  })

  app.delete('/sessions', {
    config: { auth: 'user' },
    schema: {
      operationId: 'endOtherSessions',
      tags,
      summary: 'End every session of the caller except the current one',
      description: 'Signs out every other device; this session stays. Answers how many were ended.',
      response: { 200: EndedSessions }
    }
  }, async (request) => {
    const principal = principalOf(request)
    return { ended: await endUserSessions(deps, principal.userId, 'revoked', principal.sessionId) }
  })

  app.post('/sessions/current/activity', {
    config: { auth: 'user' },
    schema: {
      operationId: 'recordSessionActivity',
      tags,
      summary: 'Add page views and actions to the current session\'s counters',
      description: 'The numbers are added to the session\'s pagesVisited and actionsPerformed (at most 1000 each per call).',
      body: ActivityBody,
      response: { 204: Type.Null() }
    }
  }, async (request, reply) => {
    await recordActivity(deps, principalOf(request).sessionId, request.body)
    return reply.code(204).send(null)
  })

  app.patch('/sessions/current', {
    config: { auth: 'user' },
    schema: {
      operationId: 'setSessionWorkspace',
      tags,
      summary: 'Set the current session\'s workspace (the caller must be a member)',
      description: 'workspaceId: null leaves every workspace. A workspace the caller is not a member of is 404.',
      body: CurrentSessionBody,
      response: { 200: SessionRef, ...problems(404) }
    }
  }, async (request) => {
    const principal = principalOf(request)
    const { workspaceId } = request.body
    if (workspaceId !== null && await membershipRole(deps.db, principal.userId, workspaceId) === null) throw NotFound('NOT_FOUND', 'workspace not found')
    await setSessionWorkspace(deps, principal.sessionId, workspaceId)
    const view = await currentSessionView(deps, principal.sessionId)
    if (!view) throw NotFound('NOT_FOUND', 'session not found')
    return view
  })

  app.get('/admin/sessions', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'listAllSessions',
      tags: ['admin'],
      summary: 'Sessions of every user, newest first (platform admins)',
      description: 'Filter by user, workspace or whether the session is active. Keyset pagination: pass nextCursor back with the same filters.',
      querystring: AdminSessionsQuery,
      response: { 200: SessionPage }
    }
  }, async (request) => adminListSessions(deps, request.query))

  app.get('/admin/sessions/stats', {
    config: { auth: 'admin' },
    schema: {
      operationId: 'getSessionStats',
      tags: ['admin'],
      summary: 'Session counts by device type, country and utmSource over a time range (platform admins)',
      description: 'Counts the sessions created between from and to (default: the last 30 days); active counts those still live.',
      querystring: StatsQuery,
      response: { 200: SessionStats }
    }
  }, async (request) => adminSessionStats(deps, request.query))
}

export default sessions
