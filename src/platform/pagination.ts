import { Type, type ObjectOptions, type Static, type TSchema } from '@sinclair/typebox'
import { BadRequest } from './errors.ts'
import { Text } from './schema-types.ts'

// SPEC 4 lists: ?limit= (1-100, default 20) and ?cursor= (opaque, keyset-based);
// responses are { items, nextCursor }. A cursor is the sort key of the last item, encoded.
// Newest-first lists sort by id: ids are time-ordered UUIDv7, exact and unique, whereas a
// timestamp cursor would lose Postgres' microseconds in a JS Date and skip or repeat rows.

export const PageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'page size (1-100)' }),
  cursor: Type.Optional(Text({ maxLength: 512, description: 'opaque cursor from the previous page\'s nextCursor' }))
}

/** A page of `item`s; `options` may name it ($id) or give an example page (examples). */
export function Page<T extends TSchema> (item: T, options: ObjectOptions = {}) {
  return Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) }, options)
}
export type PageOf<T> = { items: T[], nextCursor: string | null }

export type CursorValue = string | number | boolean | null
/** integer: fits a Postgres integer; decimal: a number as Postgres prints a numeric (e.g. a rank). */
export type CursorKind = 'date' | 'uuid' | 'number' | 'integer' | 'decimal' | 'string'
type Decoded<K extends CursorKind> = K extends 'date' ? Date : K extends 'number' | 'integer' ? number : string

export function encodeCursor (values: CursorValue[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url')
}

const PG_INTEGER_MAX = 2_147_483_647
const DECIMAL = /^-?\d{1,20}(\.\d{1,20})?$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function decodeValue (kind: CursorKind, value: unknown): unknown {
  if (kind === 'date' && typeof value === 'string') {
    const date = new Date(value)
    return Number.isNaN(date.getTime()) ? undefined : date
  }
  if (kind === 'uuid') return typeof value === 'string' && UUID.test(value) ? value : undefined
  if (kind === 'number') return typeof value === 'number' && Number.isFinite(value) ? value : undefined
  if (kind === 'integer') return Number.isInteger(value) && Math.abs(value as number) <= PG_INTEGER_MAX ? value : undefined
  if (kind === 'decimal') return typeof value === 'string' && DECIMAL.test(value) ? value : undefined
  return typeof value === 'string' ? value : undefined
}

/**
 * Decodes a cursor made by encodeCursor, checking each value against its kind, so a forged or
 * stale cursor is a 400 naming the field, never a database error.
 */
export function decodeCursor<const K extends readonly CursorKind[]> (cursor: string | undefined, kinds: K): { [I in keyof K]: Decoded<K[I]> } | null {
  if (cursor === undefined) return null
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown
    if (Array.isArray(values) && values.length === kinds.length) {
      const decoded = kinds.map((kind, i) => decodeValue(kind, values[i]))
      if (decoded.every((v) => v !== undefined)) return decoded as { [I in keyof K]: Decoded<K[I]> }
    }
  } catch {}
  throw BadRequest('VALIDATION_FAILED', 'querystring/cursor is not a cursor this list issued', { field: '/querystring/cursor', fieldDetail: 'is not a cursor this list issued' })
}

/** Given limit+1 fetched rows, the page and the cursor for the next one. */
export function toPage<Row, Item> (rows: Row[], limit: number, view: (row: Row) => Item, keyOf: (row: Row) => CursorValue[]): PageOf<Item> {
  const more = rows.length > limit
  const pageRows = more ? rows.slice(0, limit) : rows
  const last = pageRows[pageRows.length - 1]
  return { items: pageRows.map(view), nextCursor: more && last !== undefined ? encodeCursor(keyOf(last)) : null }
}

export type PageQueryType = Static<ReturnType<typeof Type.Object<typeof PageQuery>>>
