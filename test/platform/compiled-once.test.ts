import t from 'tap'
import { createTestEnv } from '../helpers/app.ts'
import { createDatabase } from '../../src/platform/db.ts'
import { compiledOnce } from '../../src/platform/compiled-once.ts'

// A hot statement built and compiled once: later runs send the same SQL with their own values,
// constants of the statement stay, and the plugins (snake_case in, camelCase out) still apply.

t.test('a statement compiled once binds each run\'s values, keeps its constants and maps names', async (t) => {
  const statements: string[] = []
  const env = await createTestEnv(t, { api: false })
  const { db, destroy } = createDatabase(env.config, (sql) => statements.push(sql))
  t.teardown(destroy)
  let builds = 0
  const insert = compiledOnce<{ id: string, email: string, name: string }, { id: string, email: string, createdAt: Date }>((db, value) => {
    builds++
    return db.insertInto('users')
      .values({ id: value('id'), email: value('email'), name: value('name'), type: 'customer', status: 'active' })
      .returning(['id', 'email', 'createdAt'])
  })
  const ids = ['00000000-0000-7000-8000-0000000000c1', '00000000-0000-7000-8000-0000000000c2']
  const first = await insert(db, { id: ids[0]!, email: 'once-1@example.test', name: 'One' })
  const second = await insert(db, { id: ids[1]!, email: 'once-2@example.test', name: 'Two' })
  t.equal(builds, 1, 'built once for two runs')
  t.same(first.map((r) => [r.id, r.email]), [[ids[0], 'once-1@example.test']])
  t.same(second.map((r) => [r.id, r.email]), [[ids[1], 'once-2@example.test']], 'the second run wrote its own values')
  t.ok(second[0]!.createdAt instanceof Date, 'result columns come back camelCased')
  t.equal(statements.length, 2)
  t.equal(statements[0], statements[1], 'the same SQL text both times (one prepared statement per connection)')
  t.match(statements[0]!, /"created_at"/, 'identifiers are snake_cased')
  const rows = await db.selectFrom('users').select(['name', 'type', 'status']).where('id', 'in', ids).orderBy('name').execute()
  t.same(rows, [{ name: 'One', type: 'customer', status: 'active' }, { name: 'Two', type: 'customer', status: 'active' }], 'constants kept in every run')

  // Inside a transaction too: the compiled SQL runs on the transaction's connection.
  await t.rejects(db.transaction().execute(async (trx) => {
    await insert(trx, { id: '00000000-0000-7000-8000-0000000000c3', email: 'once-3@example.test', name: 'Three' })
    throw new Error('roll back')
  }), /roll back/)
  t.equal(await db.selectFrom('users').select('id').where('id', '=', '00000000-0000-7000-8000-0000000000c3').executeTakeFirst(), undefined, 'rolled back with its transaction')
})
