import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import { withDatabase } from './service-checks.ts'

// The databases `npm test` makes on a Postgres server that may hold others' databases too (a
// shared development server): the migrated template every test file clones, and the files' own
// databases. Each is marked with a comment when created, and the runner drops only databases
// that carry its mark: never one that merely has a name like ours.

export const TEMPLATE_MARK = 'bazaar test template'

/** The mark of a test file's database, per run (BAZAAR_TEST_RUN): the runner drops a crashed file's. */
export const runDatabaseMark = (runId: string): string => `bazaar test database, run ${runId}`

const quoted = (name: string): string => `"${name.replace(/"/g, '""')}"`

export async function markDatabase (admin: pg.Client, name: string, mark: string): Promise<void> {
  await admin.query(`comment on database ${quoted(name)} is '${mark.replace(/'/g, "''")}'`)
}

/** Names of the databases carrying `mark` whose names match the LIKE `pattern`. */
async function marked (admin: pg.Client, pattern: string, mark: string): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string }>(
    "select datname from pg_database where datname like $1 and shobj_description(oid, 'pg_database') = $2", [pattern, mark])
  return rows.map((r) => r.datname)
}

async function dropAll (admin: pg.Client, names: string[]): Promise<void> {
  for (const name of names) await admin.query(`drop database if exists ${quoted(name)} with (force)`).catch(() => {})
}

/**
 * The migrated template `name` (named after the migrations' contents), built when missing, then
 * the runner's older templates (marked ones whose names match the LIKE `family`) dropped.
 * `migrate` migrates the database at the URL it is given.
 */
export async function prepareTemplate (admin: pg.Client, serverUrl: string, name: string, migrate: (url: string) => Promise<unknown>, family = 'bazaar\\_tpl\\_%'): Promise<string> {
  const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [name])
  if (rowCount) {
    // Built by a runner from before the marks: the name is the migrations' hash, so it is ours.
    await markDatabase(admin, name, TEMPLATE_MARK)
  } else {
    // Built under a scratch name and renamed when complete, so a half-migrated template is never used.
    const scratch = `bazaar_tplbuild_${randomBytes(4).toString('hex')}`
    await admin.query(`create database ${scratch}`)
    try {
      await markDatabase(admin, scratch, TEMPLATE_MARK)
      await migrate(withDatabase(serverUrl, scratch))
      await admin.query(`alter database ${scratch} rename to ${quoted(name)}`)
    } catch (err) {
      await admin.query(`drop database if exists ${scratch} with (force)`)
      const { rowCount: exists } = await admin.query('select 1 from pg_database where datname = $1', [name])
      if (!exists) throw err
    }
  }
  await dropAll(admin, (await marked(admin, family, TEMPLATE_MARK)).filter((n) => n !== name))
  return name
}

/** Drops what a run's test files left behind (a crashed file cannot drop its own database). */
export async function dropRunDatabases (admin: pg.Client, runId: string): Promise<void> {
  await dropAll(admin, await marked(admin, `bazaar\\_t\\_${runId}\\_%`, runDatabaseMark(runId)))
}
