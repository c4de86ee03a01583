import { randomBytes } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import { withDatabase } from '../../scripts/lib/local-services.ts'
import { dropRunDatabases, markDatabase, prepareTemplate, runDatabaseMark, TEMPLATE_MARK } from '../../scripts/lib/test-databases.ts'
import { createTestDatabase, serverUrl } from '../helpers/database.ts'

// Issue 12, item 10: the test runner (scripts/test.ts) shares its Postgres server with whatever
// else lives there. It drops only databases it marked as its own when it created them, never
// one whose name merely looks like a template or a test file's database.

type Tap = { teardown: (fn: () => unknown) => void }

async function adminClient (t: Tap): Promise<pg.Client> {
  const admin = new pg.Client({ connectionString: withDatabase(serverUrl(), 'postgres') })
  await admin.connect()
  t.teardown(() => admin.end())
  return admin
}

/** In teardown, on a client of its own (the test's may be closed by then). */
async function dropDatabase (name: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabase(serverUrl(), 'postgres') })
  await client.connect()
  await client.query(`drop database if exists ${name} with (force)`)
  await client.end()
}

async function existing (admin: pg.Client, names: string[]): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string }>('select datname from pg_database where datname = any($1)', [names])
  return rows.map((r) => r.datname).sort()
}

async function created (t: Tap, admin: pg.Client, name: string, comment?: string): Promise<string> {
  await admin.query(`create database ${name}`)
  t.teardown(() => dropDatabase(name))
  if (comment !== undefined) await markDatabase(admin, name, comment)
  return name
}

t.test('older templates are dropped only when the runner marked them; look-alikes survive', async (t) => {
  const admin = await adminClient(t)
  // A family of names of this test's own, so concurrent runs' real templates are never touched.
  const family = `bazaar_tpl_zz${randomBytes(4).toString('hex')}`
  const ours = await created(t, admin, `${family}_old`, TEMPLATE_MARK)
  const lookAlike = await created(t, admin, `${family}_someone`)
  const otherComment = await created(t, admin, `${family}_other`, 'a colleague\'s scratch copy')
  const current = await created(t, admin, `${family}_current`, TEMPLATE_MARK)

  let migrated = 0
  t.equal(await prepareTemplate(admin, serverUrl(), current, async () => { migrated++ }, `${family.replace(/_/g, '\\_')}\\_%`), current)
  t.equal(migrated, 0, 'an existing template is used as it is')
  t.same(await existing(admin, [ours, lookAlike, otherComment, current]), [current, otherComment, lookAlike].sort(),
    'the runner\'s old template is gone; the unmarked and the foreign-commented ones survive')
})

t.test('a new template is built under a scratch name, marked, then renamed', async (t) => {
  const admin = await adminClient(t)
  const family = `bazaar_tpl_zz${randomBytes(4).toString('hex')}`
  const name = `${family}_new`
  t.teardown(() => dropDatabase(name))
  let migratedUrl = ''
  await prepareTemplate(admin, serverUrl(), name, async (url) => { migratedUrl = url }, `${family.replace(/_/g, '\\_')}\\_%`)
  t.match(migratedUrl, /\/bazaar_tplbuild_[0-9a-f]{8}$/, 'migrated under a scratch name')
  const { rows } = await admin.query("select shobj_description(oid, 'pg_database') as mark from pg_database where datname = $1", [name])
  t.same(rows, [{ mark: TEMPLATE_MARK }], 'renamed, with the runner\'s mark')
})

t.test('a run drops the test databases it marked, never a look-alike', async (t) => {
  const admin = await adminClient(t)
  const run = `zz${randomBytes(3).toString('hex')}`
  const left = await created(t, admin, `bazaar_t_${run}_crashed`, runDatabaseMark(run))
  const lookAlike = await created(t, admin, `bazaar_t_${run}_notours`)
  const otherRun = await created(t, admin, `bazaar_t_${run}_otherrun`, runDatabaseMark('abc123'))
  await dropRunDatabases(admin, run)
  t.same(await existing(admin, [left, lookAlike, otherRun]), [lookAlike, otherRun].sort())
})

t.test('test files mark the databases they create', async (t) => {
  const admin = await adminClient(t)
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const { rows } = await admin.query("select shobj_description(oid, 'pg_database') as mark from pg_database where datname = $1", [database.name])
  t.same(rows, [{ mark: runDatabaseMark(process.env.BAZAAR_TEST_RUN ?? 'x') }])
})
