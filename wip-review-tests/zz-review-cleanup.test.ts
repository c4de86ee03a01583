import t from 'tap'
import { sql } from 'kysely'
import { createTestEnv, type TestEnv } from '../../helpers/app.ts'
import { ManualClock } from '../../../src/platform/clock.ts'
import { USER_BUCKETS } from '../../../src/platform/user-slot.ts'
import { finalizeExpiredSessions } from '../../../src/modules/sessions/public.ts'
import { createBulkSessions } from '../../../scripts/lib/bulk-sessions.ts'

// REVIEW (adversarial): scratch test, not part of the branch.
const IDLE_MS = 600_000
async function indexed (env: TestEnv): Promise<number> {
  const sizes = await Promise.all(USER_BUCKETS.map((b) => env.redis.zcard(`${env.config.redisPrefix}sess:exp:{u${b}}`)))
  return sizes.reduce((sum, n) => sum + n, 0)
}

t.test('a failed Postgres write mid-run: sessions leave Redis but stay active in Postgres, for good', async (t) => {
  const clock = new ManualClock()
  const env = await createTestEnv(t, { clock, config: { sessionIdleTtl: IDLE_MS / 1000 } })
  await createBulkSessions(env.app.deps, { users: 100, sessionsPerUser: 6, createdAt: clock.now().getTime() - 20 * 60_000, idleMs: IDLE_MS, absoluteMs: 30 * 86_400_000, chunkUsers: 50 })
  // Postgres refuses the cleanup's UPDATE (stands for a crash, a failover, a statement timeout between the script and the commit).
  await sql`create function review_refuse() returns trigger language plpgsql as $$ begin raise exception 'review: write refused'; end $$`.execute(env.app.db)
  await sql`create trigger review_refuse before update on sessions for each row execute function review_refuse()`.execute(env.app.db)
  await t.rejects(finalizeExpiredSessions(env.app.deps, { batchSize: 50, buckets: 16 }), /write refused/)
  await sql`drop trigger review_refuse on sessions`.execute(env.app.db)
  const stillActive = Number((await sql<{ n: string }>`select count(*) as n from sessions where is_active and ended_at is null`.execute(env.app.db)).rows[0]!.n)
  const left = await indexed(env)
  t.comment(`after the failed run: ${stillActive} rows active in Postgres, ${left} entries left in the Redis indexes`)
  const again = await finalizeExpiredSessions(env.app.deps, { batchSize: 50, buckets: 16 })
  const stillActiveAfter = Number((await sql<{ n: string }>`select count(*) as n from sessions where is_active and ended_at is null`.execute(env.app.db)).rows[0]!.n)
  t.comment(`a second run ends ${again}; ${stillActiveAfter} rows stay active in Postgres with no Redis session behind them`)
  t.equal(stillActiveAfter, 0, 'every expired session ends in Postgres eventually')
})
