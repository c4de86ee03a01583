import { sql } from 'kysely'
import t from 'tap'
import { createTestEnv } from '../helpers/app.ts'
import { createDatabase, type Database } from '../../src/platform/db.ts'

// Plan reuse: a data statement the app runs is prepared on its connection once (a named
// statement) and reused; DATABASE_PREPARED_STATEMENTS=false sends everything unnamed, for
// poolers that cannot carry prepared statements.

async function preparedOn (database: Database): Promise<Array<{ name: string, statement: string }>> {
  // One connection (pool of 1): what this connection has prepared.
  const { rows } = await sql<{ name: string, statement: string }>`select name, statement from pg_prepared_statements`.execute(database.db)
  return rows
}

const lookup = (database: Database, id: string) =>
  database.db.selectFrom('users').select(['id', 'email']).where('id', '=', id).executeTakeFirst()

t.test('a repeated statement is prepared once per connection and reused', async (t) => {
  const env = await createTestEnv(t, { api: false })
  const database = createDatabase({ ...env.config, databasePoolMax: 1 })
  t.teardown(() => database.destroy())

  const compiled = database.db.selectFrom('users').select(['id', 'email']).where('id', '=', '00000000-0000-7000-8000-000000000000').compile().sql
  for (let i = 0; i < 3; i++) t.equal(await lookup(database, `00000000-0000-7000-8000-00000000000${i}`), undefined)
  const prepared = (await preparedOn(database)).filter((p) => p.statement === compiled)
  t.equal(prepared.length, 1, 'three runs, one prepared statement')
  t.match(prepared[0]!.name, /^bz_[A-Za-z0-9_-]{22}$/)
  // Parameters still bind per run: the statement answers for the id it is given.
  const user = await database.db.insertInto('users').values({ id: '00000000-0000-7000-8000-0000000000aa', email: 'prepared@example.test', name: 'P', type: 'customer', status: 'active' }).returning('id').executeTakeFirstOrThrow()
  t.same(await lookup(database, user.id), { id: user.id, email: 'prepared@example.test' })
  t.equal(await lookup(database, '00000000-0000-7000-8000-0000000000ab'), undefined)
  t.notOk((await preparedOn(database)).some((p) => /^\s*(begin|commit|rollback)/i.test(p.statement)), 'transaction control is never prepared')
})

t.test('with prepared statements off, nothing is prepared', async (t) => {
  const env = await createTestEnv(t, { api: false })
  const database = createDatabase({ ...env.config, databasePoolMax: 1, databasePreparedStatements: false })
  t.teardown(() => database.destroy())
  for (let i = 0; i < 3; i++) await lookup(database, `00000000-0000-7000-8000-00000000000${i}`)
  t.same(await preparedOn(database), [])
})

t.test('DATABASE_PREPARED_STATEMENTS is on by default and reads false', async (t) => {
  const { loadConfig } = await import('../../src/config.ts')
  t.equal(loadConfig({ NODE_ENV: 'test' }).databasePreparedStatements, true)
  t.equal(loadConfig({ NODE_ENV: 'test', DATABASE_PREPARED_STATEMENTS: 'false' }).databasePreparedStatements, false)
  t.throws(() => loadConfig({ NODE_ENV: 'test', DATABASE_PREPARED_STATEMENTS: 'sometimes' }), { message: /DATABASE_PREPARED_STATEMENTS must be true or false/ })
})
