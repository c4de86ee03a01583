import type { Deps } from '../../platform/deps.ts'
import type { SessionView } from './schemas.ts'
import { expiresAt, loadSessions, sessionKey, userSessionsKey } from './store.ts'
import { storedSessionView } from './views.ts'

// What a signed-in user sees and changes of their own live sessions (the /sessions routes).

/** The caller's live sessions, newest first, the current one marked. */
export async function listUserSessions (deps: Deps, userId: string, currentId: string): Promise<SessionView[]> {
  const ids = await deps.redis.smembers(userSessionsKey(userId))
  const now = deps.clock.now().getTime()
  const live = (await loadSessions(deps.redis, ids)).filter((s) => s.userId === userId && expiresAt(s) > now)
  return live.sort((a, b) => b.createdAt - a.createdAt).map((s) => ({ ...storedSessionView(deps.sealer, s), current: s.id === currentId }))
}

export async function userOwnsLiveSession (deps: Deps, userId: string, sessionId: string): Promise<boolean> {
  const [stored] = await loadSessions(deps.redis, [sessionId])
  return stored !== undefined && stored.userId === userId && expiresAt(stored) > deps.clock.now().getTime()
}

export async function currentSessionView (deps: Deps, sessionId: string): Promise<SessionView | null> {
  const [stored] = await loadSessions(deps.redis, [sessionId])
  return stored ? { ...storedSessionView(deps.sealer, stored), current: true } : null
}

export async function recordActivity (deps: Deps, sessionId: string, counts: { pagesVisited?: number, actionsPerformed?: number }): Promise<void> {
  const pipeline = deps.redis.pipeline()
  if (counts.pagesVisited) pipeline.hincrby(sessionKey(sessionId), 'pv', counts.pagesVisited)
  if (counts.actionsPerformed) pipeline.hincrby(sessionKey(sessionId), 'ap', counts.actionsPerformed)
  await pipeline.exec()
}

export async function setSessionWorkspace (deps: Deps, sessionId: string, workspaceId: string | null): Promise<void> {
  await deps.redis.hset(sessionKey(sessionId), 'ws', workspaceId ?? '')
  await deps.db.updateTable('sessions').set({ workspaceId }).where('id', '=', sessionId).execute()
}
