import { sql, type Kysely } from 'kysely'

// Sessions moved to hash-tagged Redis keys (Redis Cluster, issue 13): a session stored under the
// old keys can no longer be found, so its holder is signed out. Record that here, or its row would
// stay active for good (cleanup reads only the new keys) and admin lists would show it as live.
export async function up (db: Kysely<any>): Promise<void> {
  await sql`
    update sessions set is_active = false, ended_at = now(), end_reason = 'revoked',
      session_duration_sec = greatest(0, extract(epoch from now() - created_at))::int
    where ended_at is null`.execute(db)
}

// Nothing to undo: those sessions are gone from Redis either way.
export async function down (): Promise<void> {}
