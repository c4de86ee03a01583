import type AjvCompiler from '@fastify/ajv-compiler'
import { Type, type ObjectOptions, type StringOptions, type TObject, type TProperties, type TRecord, type TSchema, type TString, type TUnknown, type TUnsafe } from '@sinclair/typebox'

// Response timestamps: ISO 8601 strings on the wire (fast-json-stringify turns a Date into
// one), Date objects in the code that returns them.
/**
 * An RFC 3339 date-time a JavaScript Date can hold: the format allows a leap second (23:59:60),
 * which Date cannot represent (Invalid Date, then a 500 from the database), so the pattern
 * refuses second 60 as the 400 it is, and year 0000, which Postgres has no such year for.
 * Every date-time a request may carry uses it.
 */
const DATE_TIME = '^(?!0000)\\d{4}-\\d{2}-\\d{2}[Tt ]\\d{2}:\\d{2}:[0-5]\\d(\\.\\d+)?([Zz]|[+-]\\d{2}(:?\\d{2})?)$'
export const Timestamp = (options: { description?: string } = {}): TUnsafe<Date> =>
  Type.Unsafe<Date>({ type: 'string', format: 'date-time', pattern: DATE_TIME, ...options })
/** A date-time in a request, kept as its text. */
export const DateTimeText = (options: Omit<StringOptions, 'pattern' | 'format'> = {}): TString => Type.String({ format: 'date-time', ...options, pattern: DATE_TIME })

export const NullableTimestamp = () => Type.Union([Timestamp(), Type.Null()])

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

/** A UUID (every id we issue is one). */
/** A UUID in its 36-character form (the uuid format alone also takes a "urn:uuid:" prefix, which the database does not). */
export const Uuid = (options: { description?: string } = {}): TString =>
  Type.String({ format: 'uuid', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', ...options })

/** A request object that refuses members it does not list (a typo is a 400, not silently ignored). */
export const Strict = <T extends TProperties>(properties: T, options: ObjectOptions = {}): TObject<T> =>
  Type.Object(properties, { additionalProperties: false, ...options })

// Shared $id schemas (src/schemas.ts registers them once) are referenced with Type.Ref(Schema),
// typed by the schema itself, never by a 'Name' string.

// Text from clients never carries NUL: Postgres cannot store it in text or jsonb (the insert
// fails, a 500), and C-string consumers truncate at it. Nor an unpaired UTF-16 surrogate: it is
// not Unicode (jsonb refuses it, a 500; text silently gets U+FFFD). Every text field of every
// request (body, query, params, headers) is a Text, so either is a 400 naming the field. A field
// with its own pattern must exclude NUL itself (test/platform/nul-input.test.ts checks them all).
// Written to hold with or without the regex `u` flag: a surrogate only as half of a pair.
export const NO_NUL = '^(?:[^\\u0000\\ud800-\\udfff]|[\\ud800-\\udbff][\\udc00-\\udfff])*$'
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
const badText = (text: string): boolean => text.includes('\u0000') || UNPAIRED_SURROGATE.test(text)

/** A string without NUL (and well-formed); the other string options as Type.String takes them (not `pattern`). */
export const Text = (options: Omit<StringOptions, 'pattern'> = {}): TString => Type.String({ ...options, pattern: NO_NUL })

/**
 * NO_NUL, and no other control (Cc), format (Cf: bidi overrides, zero-width), line or paragraph
 * separator either: one line that reads as it is stored (e.g. a name in a plain-text email).
 * Property escapes need the `u` flag, which Ajv uses (unicodeRegExp) and isSingleLine too.
 */
export const SINGLE_LINE = '^[^\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}\\p{Cs}]*$'
const singleLine = new RegExp(SINGLE_LINE, 'u')
export const isSingleLine = (text: string): boolean => singleLine.test(text)
export const SingleLineText = (options: Omit<StringOptions, 'pattern'> = {}): TString => Type.String({ ...options, pattern: SINGLE_LINE })

export interface JsonLimits { maxBytes: number, maxDepth: number }
export const JSON_LIMITS_KEYWORD = 'x-json-limits'

/**
 * Free-form JSON a client stores (settings, analytics, addresses): an object of at most
 * `maxBytes` (serialised) and `maxDepth` levels of nesting, with no NUL (nor unpaired surrogate)
 * in any key or string.
 * Checked by the ajv keyword below, registered once in app.ts.
 */
export const FreeFormObject = (limits: JsonLimits, options: ObjectOptions = {}): TRecord<TString, TUnknown> =>
  Type.Record(Text({ maxLength: 200 }), Type.Unknown(), { ...options, [JSON_LIMITS_KEYWORD]: limits })

/** Why `value` breaks the limits, or null when it keeps them. */
export function jsonLimitViolation (value: unknown, limits: JsonLimits): string | null {
  let depthExceeded = false
  let nul = false
  const walk = (node: unknown, depth: number): void => {
    if (depthExceeded || nul) return
    if (typeof node === 'string') {
      if (badText(node)) nul = true
    } else if (node !== null && typeof node === 'object') {
      if (depth >= limits.maxDepth) { depthExceeded = true; return }
      if (Array.isArray(node)) {
        for (const item of node) walk(item, depth + 1)
      } else {
        for (const [key, item] of Object.entries(node)) {
          if (badText(key)) nul = true
          walk(item, depth + 1)
        }
      }
    }
  }
  walk(value, 0)
  if (nul) return 'must not contain NUL characters or unpaired surrogates'
  if (depthExceeded) return `must nest at most ${limits.maxDepth} levels deep`
  if (Buffer.byteLength(JSON.stringify(value) ?? '') > limits.maxBytes) return `must be at most ${limits.maxBytes} bytes as JSON`
  return null
}

/** The ajv plugin that defines the keyword; app.ts passes it in the validator's options. */
export function jsonLimitsAjvPlugin (ajv: AjvCompiler.Ajv): AjvCompiler.Ajv {
  const validate = (limits: JsonLimits, data: unknown): boolean => {
    const problem = jsonLimitViolation(data, limits)
    validate.errors = problem ? [{ keyword: JSON_LIMITS_KEYWORD, message: problem, params: { ...limits } }] : undefined
    return problem === null
  }
  validate.errors = undefined as undefined | Array<{ keyword: string, message: string, params: object }>
  return ajv.addKeyword({ keyword: JSON_LIMITS_KEYWORD, schemaType: 'object', errors: true, validate })
}
