import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { withDatabase } from '../../scripts/lib/local-services.ts'
import { markDatabase, runDatabaseMark } from '../../scripts/lib/test-databases.ts'

// Each test file gets its own database, cloned from the migrated template that `npm test`
// prepared (a file copy: milliseconds), and dropped in teardown.

export function serverUrl (): string {
  const url = process.env.DATABASE_URL
  if (!url) throw new Error('DATABASE_URL is not set: run the tests with `npm test`')
  return url
}

export function templateName (): string {
  const name = process.env.BAZAAR_TEST_TEMPLATE
  if (!name) throw new Error('BAZAAR_TEST_TEMPLATE is not set: run the tests with `npm test`')
  return name
}

async function withAdmin<T> (fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: withDatabase(serverUrl(), 'postgres') })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** The runner drops a crashed file's database by this mark, never by its name alone. */
const runMark = () => runDatabaseMark(process.env.BAZAAR_TEST_RUN ?? 'x')

export async function createTestDatabase (template = templateName()): Promise<{ url: string, name: string, drop: () => Promise<void> }> {
  const name = `bazaar_t_${process.env.BAZAAR_TEST_RUN ?? 'x'}_${randomBytes(5).toString('hex')}`
  // Concurrent clones of one template can collide on its lock for a moment; retry briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      await withAdmin(async (c) => {
        await c.query(`create database ${name} template ${template}`)
        await markDatabase(c, name, runMark())
      })
      break
    } catch (err) {
      if (attempt >= 20 || !/being accessed by other users/.test((err as Error).message)) throw err
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200))
    }
  }
  return {
    url: withDatabase(serverUrl(), name),
    name,
    drop: () => withAdmin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {})
  }
}

export async function createEmptyDatabase (): Promise<{ url: string, drop: () => Promise<void> }> {
  const name = `bazaar_t_${process.env.BAZAAR_TEST_RUN ?? 'x'}_${randomBytes(5).toString('hex')}`
  await withAdmin(async (c) => {
    await c.query(`create database ${name}`)
    await markDatabase(c, name, runMark())
  })
  return { url: withDatabase(serverUrl(), name), drop: () => withAdmin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {}) }
}

/**
 * Ends every server connection to a database (as a Postgres restart would), except the caller's
 * own; returns how many it ended.
 */
export async function terminateBackends (databaseUrl: string): Promise<number> {
  const name = new URL(databaseUrl).pathname.slice(1)
  return withAdmin(async (c) => {
    const { rows } = await c.query('select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name])
    return rows[0].n as number
  })
}
