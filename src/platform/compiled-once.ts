import { createQueryId, type Compilable } from 'kysely'
import type { Queryable } from './db.ts'

// Building a query with Kysely and compiling it to SQL costs Node more time than a short
// statement spends in Postgres: on the cart add it was about a third of the API's busy CPU.
// A hot statement whose shape never changes, only its values, is built and compiled once, on
// its first run; later runs send that SQL with their own values (and, being the same text, reuse
// the connection's prepared statement, see db.ts).

/** Stands for a named value while the statement is compiled. */
class Slot {
  constructor (readonly name: string) {}
}

interface Compiled {
  sql: string
  query: ReturnType<Compilable<unknown>['compile']>['query']
  /** Per parameter: the name of the value it takes, or null for a constant of the statement. */
  slots: Array<string | null>
  constants: unknown[]
}

/**
 * A statement built once. `build` gets `value(name)` to place each call's values; it must not
 * branch on them (it runs once), and a value must be a single parameter (an array goes as one
 * Postgres array, `= any(...)`, never spread into an `in` list).
 */
export function compiledOnce<Values extends Record<string, unknown>, Row> (
  build: (db: Queryable, value: <K extends keyof Values & string>(name: K) => Values[K]) => Compilable<Row>
): (db: Queryable, values: Values) => Promise<Row[]> {
  let compiled: Compiled | undefined
  const compile = (db: Queryable): Compiled => {
    const query = build(db, (name) => new Slot(name) as never).compile()
    const slots = query.parameters.map((p) => p instanceof Slot ? p.name : null)
    return { sql: query.sql, query: query.query, slots, constants: [...query.parameters] }
  }
  return async (db, values) => {
    compiled ??= compile(db)
    const { sql, query, slots, constants } = compiled
    const parameters = slots.map((name, i) => name === null ? constants[i] : values[name])
    const result = await db.executeQuery<Row>({ sql, query, parameters, queryId: createQueryId() })
    return result.rows
  }
}
