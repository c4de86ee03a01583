import { sql } from 'kysely'
import type { Deps } from '../../platform/deps.ts'
import { decodeCursor, toPage, type PageOf } from '../../platform/pagination.ts'
import type { AdminSessionsQuery, SessionStats, SessionView, StatsQuery } from './schemas.ts'
import { expiresAt, loadSessions } from './store.ts'
import { sessionRowView } from './views.ts'

// Platform admins: every user's session history and statistics, from Postgres.

export async function adminListSessions (deps: Deps, query: AdminSessionsQuery): Promise<PageOf<SessionView>> {
  const after = decodeCursor(query.cursor, ['uuid'])
  let q = deps.db.selectFrom('sessions').selectAll()
  if (query.userId) q = q.where('userId', '=', query.userId)
  if (query.workspaceId) q = q.where('workspaceId', '=', query.workspaceId)
  if (query.active !== undefined) q = q.where('isActive', '=', query.active)
  if (after) q = q.where('id', '<', after[0])
  const rows = await q.orderBy('id', 'desc').limit(query.limit + 1).execute()
  const page = toPage(rows, query.limit, sessionRowView, (r) => [r.id])
  // Counters of live sessions are in Redis; show them rather than the last flushed copy.
  const live = new Map((await loadSessions(deps.redis, page.items.filter((s) => s.isActive).map((s) => s.id))).map((s) => [s.id, s]))
  page.items = page.items.map((item) => {
    const stored = live.get(item.id)
    return stored
      ? { ...item, totalRequests: stored.totalRequests, pagesVisited: stored.pagesVisited, actionsPerformed: stored.actionsPerformed, lastSeenAt: new Date(stored.lastSeenAt), expiresAt: new Date(expiresAt(stored)) }
      : item
  })
  return page
}

const DEFAULT_STATS_RANGE_MS = 30 * 24 * 3600_000

/** Counts over sessions created in [from, to): by default the 30 days up to now. */
export async function adminSessionStats (deps: Deps, query: StatsQuery): Promise<SessionStats> {
  const to = query.to ? new Date(query.to) : deps.clock.now()
  const range = { from: query.from ? new Date(query.from) : new Date(to.getTime() - DEFAULT_STATS_RANGE_MS), to }
  const base = deps.db.selectFrom('sessions').where('createdAt', '>=', range.from).where('createdAt', '<', range.to)
  const countBy = async (column: 'deviceType' | 'countryCode' | 'utmSource') => {
    const rows = await base.select([sql<string>`coalesce(${sql.ref(column)}, 'unknown')`.as('key'), (eb) => eb.fn.countAll<number>().as('count')])
      .groupBy('key').orderBy('count', 'desc').orderBy('key').limit(50).execute()
    return rows.map((r) => ({ key: r.key, count: Number(r.count) }))
  }
  const [totals, byDeviceType, byCountry, byUtmSource] = await Promise.all([
    base.select([(eb) => eb.fn.countAll<number>().as('total'), sql<number>`count(*) filter (where is_active)`.as('active')]).executeTakeFirstOrThrow(),
    countBy('deviceType'),
    countBy('countryCode'),
    countBy('utmSource')
  ])
  return { ...range, total: Number(totals.total), active: Number(totals.active), byDeviceType, byCountry, byUtmSource }
}
