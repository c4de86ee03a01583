import t from 'tap'
import { decodeCursor, encodeCursor, toPage, type CursorKind } from '../../src/platform/pagination.ts'
import { toProblem } from '../../src/platform/errors.ts'

// Cursors are opaque to clients but not trusted: whatever comes back must decode to values of
// the expected kinds, or the request is a 400 naming ?cursor, never a database error.

const UUID = '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f'
const b64 = (text: string) => Buffer.from(text).toString('base64url')

/** The problem a request would get for this cursor, or null when it decodes. */
function problemOf (cursor: string, kinds: readonly CursorKind[]) {
  try {
    decodeCursor(cursor, kinds)
    return null
  } catch (err) {
    return toProblem(err, 'req-1')
  }
}

t.test('a cursor decodes to what was encoded, by kind', async (t) => {
  const cases: Array<{ name: string, kinds: CursorKind[], values: Array<string | number>, decoded: unknown[] }> = [
    { name: 'uuid', kinds: ['uuid'], values: [UUID], decoded: [UUID] },
    { name: 'upper-case uuid', kinds: ['uuid'], values: [UUID.toUpperCase()], decoded: [UUID.toUpperCase()] },
    { name: 'date and uuid', kinds: ['date', 'uuid'], values: ['2026-11-21T10:00:00.123Z', UUID], decoded: [new Date('2026-11-21T10:00:00.123Z'), UUID] },
    { name: 'number (fractional)', kinds: ['number', 'uuid'], values: [12.5, UUID], decoded: [12.5, UUID] },
    { name: 'negative number', kinds: ['number'], values: [-3], decoded: [-3] },
    { name: 'integer at the Postgres maximum', kinds: ['integer'], values: [2_147_483_647], decoded: [2_147_483_647] },
    { name: 'integer at the Postgres minimum', kinds: ['integer'], values: [-2_147_483_647], decoded: [-2_147_483_647] },
    { name: 'zero', kinds: ['integer'], values: [0], decoded: [0] },
    { name: 'decimal as Postgres prints it', kinds: ['decimal', 'uuid'], values: ['0.0607927', UUID], decoded: ['0.0607927', UUID] },
    { name: 'negative whole decimal', kinds: ['decimal'], values: ['-12'], decoded: ['-12'] },
    { name: 'string with unicode', kinds: ['string', 'uuid'], values: ['Café "déjà" vu', UUID], decoded: ['Café "déjà" vu', UUID] },
    { name: 'empty string', kinds: ['string'], values: [''], decoded: [''] }
  ]
  for (const c of cases) {
    const cursor = encodeCursor(c.values)
    t.match(cursor, /^[A-Za-z0-9_-]+$/, `${c.name}: url-safe`)
    t.same(decodeCursor(cursor, c.kinds), c.decoded, `${c.name}: round trip`)
  }
  const [date] = decodeCursor(encodeCursor(['2026-11-21T10:00:00.123Z']), ['date'])!
  t.ok(date instanceof Date, 'a date comes back as a Date')
  t.equal(date.toISOString(), '2026-11-21T10:00:00.123Z', 'to the millisecond')
})

t.test('no cursor is the first page', async (t) => {
  t.equal(decodeCursor(undefined, ['uuid']), null)
})

t.test('forged, garbled and stale cursors are a 400 naming /querystring/cursor', async (t) => {
  const cases: Array<[string, string, readonly CursorKind[]]> = [
    ['empty', '', ['uuid']],
    ['not base64 JSON', 'hello', ['uuid']],
    ['base64 of text that is not JSON', b64('select * from users'), ['uuid']],
    ['truncated', encodeCursor([UUID]).slice(0, 20), ['uuid']],
    ['a JSON object, not a list', b64(JSON.stringify({ id: UUID })), ['uuid']],
    ['a bare value', b64(JSON.stringify(UUID)), ['uuid']],
    ['JSON null', b64('null'), ['uuid']],
    ['too few values', encodeCursor([UUID]), ['date', 'uuid']],
    ['too many values', encodeCursor(['2026-11-21T10:00:00Z', UUID]), ['uuid']],
    ['empty list', encodeCursor([]), ['uuid']],
    ['not a uuid', encodeCursor(['1 or 1=1']), ['uuid']],
    ['uuid with trailing text', encodeCursor([`${UUID}'; drop table users; --`]), ['uuid']],
    ['uuid as a number', encodeCursor([42]), ['uuid']],
    ['null value', encodeCursor([null]), ['uuid']],
    ['not a date', encodeCursor(['yesterday-ish']), ['date']],
    ['date as a number', encodeCursor([1732183200000]), ['date']],
    ['number as a string', encodeCursor(['12']), ['number']],
    ['number as a boolean', encodeCursor([true]), ['number']],
    ['fractional integer', encodeCursor([1.5]), ['integer']],
    ['integer above the Postgres maximum', encodeCursor([2_147_483_648]), ['integer']],
    ['integer below the Postgres minimum', encodeCursor([-2_147_483_648]), ['integer']],
    ['integer as a string', encodeCursor(['7']), ['integer']],
    ['decimal as a number', encodeCursor([0.5]), ['decimal']],
    ['decimal with SQL', encodeCursor(['1; select 1']), ['decimal']],
    ['decimal in exponent form', encodeCursor(['1e5']), ['decimal']],
    ['decimal with too many digits', encodeCursor(['1'.repeat(21)]), ['decimal']],
    ['string as a number', encodeCursor([7]), ['string']],
    ['a second value of the wrong kind', encodeCursor(['2026-11-21T10:00:00Z', 'nope']), ['date', 'uuid']]
  ]
  for (const [name, cursor, kinds] of cases) {
    const problem = problemOf(cursor, kinds)
    t.match(problem, { status: 400, errors: [{ pointer: '/querystring/cursor' }] }, `${name}: 400 naming the cursor`)
    t.equal(problem?.errors?.length, 1, `${name}: one field named`)
  }
})

t.test('toPage: a cursor only when there is a next page, made from the last item shown', async (t) => {
  const rows = [{ id: 'a' }, { id: 'b' }, { id: 'c' }]
  const view = (r: { id: string }) => r.id.toUpperCase()
  const key = (r: { id: string }) => [r.id]
  const more = toPage(rows, 2, view, key)
  t.same(more.items, ['A', 'B'], 'limit rows shown')
  t.equal(more.nextCursor, encodeCursor(['b']))
  t.same(decodeCursor(more.nextCursor!, ['string']), ['b'], 'the cursor is the key of the last row shown')
  t.same(toPage(rows, 3, view, key), { items: ['A', 'B', 'C'], nextCursor: null }, 'exactly limit rows: no next page')
  t.same(toPage(rows.slice(0, 1), 3, view, key), { items: ['A'], nextCursor: null }, 'fewer: no next page')
  t.same(toPage([], 20, view, key), { items: [], nextCursor: null }, 'empty')
})
