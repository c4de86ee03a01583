import { randomBytes } from 'node:crypto'
import { readdirSync } from 'node:fs'
import pg from 'pg'
import t from 'tap'
import { createPool } from '../../src/platform/db.ts'
import { MIGRATIONS_DIR, migrateToLatest } from '../../src/platform/migrator.ts'
import { createEmptyDatabase, createTestDatabase, serverUrl } from '../helpers/database.ts'
import { startPgBouncer } from '../helpers/pgbouncer.ts'
import { withDatabase } from '../../scripts/lib/local-services.ts'
import { ensureDatabase } from '../../scripts/lib/service-checks.ts'

async function dropDatabase (name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: withDatabase(serverUrl(), 'postgres') })
  await admin.connect()
  await admin.query(`drop database if exists ${name} with (force)`)
  await admin.end()
}

// Issue 13, item 3: session state does not survive PgBouncer's transaction pooling, where each
// transaction (each statement outside one) may run on another server connection. What the app
// keeps per connection — prepared statements, the statement_timeout startup parameter, the
// migrator's advisory lock — either works through it or is shown to need a setting.

async function withPool<T> (url: string, preparedStatements: boolean, fn: (a: pg.PoolClient, b: pg.PoolClient) => Promise<T>): Promise<T> {
  const pool = createPool({ databaseUrl: url, databasePoolMax: 2, databasePreparedStatements: preparedStatements })
  const a = await pool.connect()
  const b = await pool.connect()
  try {
    return await fn(a, b)
  } finally {
    a.release()
    b.release()
    await pool.end()
  }
}

/** Runs the same short statement on two client connections of the app's pool, one after the other. */
const twoClients = (a: pg.PoolClient, b: pg.PoolClient) => a.query('select $1::int as n', [1])
  .then(() => b.query('select $1::int as n', [2]))
  .then((r) => `answered ${r.rows[0].n}`, (err: Error) => err.message)

t.test('a statement the app prepares on one client connection collides on the shared server connection; unnamed statements do not', async (t) => {
  // One server connection: both client connections run on it, in turn.
  const bouncer = await startPgBouncer({ poolSize: 1 })
  t.teardown(() => bouncer.close())
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const url = bouncer.url(database.url)

  t.match(await withPool(url, true, twoClients), /prepared statement "bz_[^"]+" already exists/,
    `prepared statements on, PgBouncer ${bouncer.version}${bouncer.carriesPreparedStatements ? ' with max_prepared_statements = 0' : ''}: the second client's Parse reaches a server that has the name`)
  t.equal(await withPool(url, false, twoClients), 'answered 2', 'DATABASE_PREPARED_STATEMENTS=false: both answer')
  t.equal(await withPool(database.url, true, twoClients), 'answered 2', 'prepared statements on, straight to Postgres: both answer')
})

t.test('the statement_timeout startup parameter: refused unless ignored, and the database\'s own setting stands in', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const strict = await startPgBouncer({ ignoreStartupParameters: [] })
  t.teardown(() => strict.close())
  const refused = createPool({ databaseUrl: strict.url(database.url), databasePoolMax: 1 })
  await t.rejects(refused.query('select 1'), /unsupported startup parameter: statement_timeout/, 'without ignore_startup_parameters the app cannot connect')
  await refused.end()

  // What the deployment does instead (README): the timeout set on the database (or role).
  const admin = new pg.Client({ connectionString: database.url })
  await admin.connect()
  await admin.query(`alter database ${database.name} set statement_timeout = '30s'`)
  await admin.end()
  const bouncer = await startPgBouncer()
  t.teardown(() => bouncer.close())
  const pool = createPool({ databaseUrl: bouncer.url(database.url), databasePoolMax: 1 })
  t.teardown(() => pool.end())
  t.equal((await pool.query('show statement_timeout')).rows[0].statement_timeout, '30s', 'through PgBouncer, the database setting applies')
  await t.rejects(pool.query("set local statement_timeout = '50ms'; select pg_sleep(1)"), /canceling statement due to statement timeout/,
    'and a statement_timeout still cancels a stuck statement')
})

t.test('migrations run through PgBouncer leave no advisory lock behind, and run again', async (t) => {
  const database = await createEmptyDatabase()
  t.teardown(() => database.drop())
  const name = new URL(database.url).pathname.slice(1)
  // Three server connections handed out in turn, as a busy pool would: consecutive statements
  // of one client land on different backends.
  const bouncer = await startPgBouncer({ poolSize: 3, roundRobin: true })
  t.teardown(() => bouncer.close())
  const url = bouncer.url(database.url)
  await Promise.all([0, 1, 2].map(async () => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    await client.query('begin')
    await client.query('select pg_sleep(0.2)')
    await client.query('commit')
    await client.end()
  }))

  const files = readdirSync(MIGRATIONS_DIR).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
  const applied = await migrateToLatest(url)
  t.equal(applied.length, files.length, 'every migration applied')

  const admin = new pg.Client({ connectionString: database.url })
  await admin.connect()
  t.teardown(() => admin.end())
  const { rows } = await admin.query("select l.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and a.datname = $1", [name])
  t.same(rows, [], 'no server connection still holds the migration lock')
  t.equal(Number((await admin.query('select count(*) as n from kysely_migration')).rows[0].n), files.length, 'recorded in the database')

  const second = migrateToLatest(url)
  second.catch(() => {})
  const again = await Promise.race([
    second,
    new Promise<string>((resolve) => setTimeout(() => resolve('still waiting for the migration lock after 10 s'), 10000))
  ])
  t.same(again, [], 'a second run finds nothing to do')
})

t.test('two migration runs at once through PgBouncer: one applies every migration, the other waits and finds none', async (t) => {
  const database = await createEmptyDatabase()
  t.teardown(() => database.drop())
  const bouncer = await startPgBouncer({ poolSize: 3 })
  t.teardown(() => bouncer.close())
  const url = bouncer.url(database.url)
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
  const runs = await Promise.all([migrateToLatest(url), migrateToLatest(url), migrateToLatest(database.url)])
  t.same(runs.map((applied) => applied.length).sort(), [0, 0, files.length], 'each migration applied once, by one run')
})

t.test('npm start\'s database check through PgBouncer: a missing database is named as missing, and created', async (t) => {
  const bouncer = await startPgBouncer()
  t.teardown(() => bouncer.close())
  const name = `bazaar_t_${process.env.BAZAAR_TEST_RUN ?? 'x'}_${randomBytes(5).toString('hex')}`
  t.teardown(() => dropDatabase(name))
  const url = bouncer.url(withDatabase(serverUrl(), name))
  // PgBouncer answers a database the server does not have with 08P01, not Postgres's 3D000.
  await t.rejects(ensureDatabase(url, false), { message: new RegExp(`^Postgres at .*/${name}: .*\\. Create it \\(createdb "${name}"\\); npm start does so itself in development\\.$`) },
    'without permission to create, the same advice as straight to Postgres')
  t.equal(await ensureDatabase(url), true, 'created through the pooler')
  t.equal(await ensureDatabase(url), false, 'there already')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.same((await client.query('select current_database() as db')).rows, [{ db: name }], 'and reachable through PgBouncer at once')
  await client.end()
})
