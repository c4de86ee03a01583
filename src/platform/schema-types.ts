import { Type, type TSchema, type TUnsafe } from '@sinclair/typebox'

// Response timestamps: ISO 8601 strings on the wire (fast-json-stringify turns a Date into
// one), Date objects in the code that returns them.
export const Timestamp = (options: { description?: string } = {}): TUnsafe<Date> =>
  Type.Unsafe<Date>({ type: 'string', format: 'date-time', ...options })

export const NullableTimestamp = () => Type.Union([Timestamp(), Type.Null()])

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
