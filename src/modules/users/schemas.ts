import { NullableTimestamp, Timestamp } from '../../platform/schema-types.ts'
import { Type, type Static } from '@sinclair/typebox'

export const UserTypeSchema = Type.Union([Type.Literal('customer'), Type.Literal('vendor'), Type.Literal('admin')])
export const UserStatusSchema = Type.Union([Type.Literal('pending'), Type.Literal('active'), Type.Literal('inactive'), Type.Literal('suspended')])
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()])

export const UserView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String({ format: 'email' }),
  name: Type.String(),
  phone: Nullable(Type.String()),
  type: UserTypeSchema,
  status: UserStatusSchema,
  hasPassword: Type.Boolean(),
  verifiedAt: NullableTimestamp(),
  postCode: Nullable(Type.String()),
  country: Nullable(Type.String()),
  city: Nullable(Type.String()),
  isProfileReverified: Type.Boolean(),
  profileReverifiedAt: NullableTimestamp(),
  createdAt: Timestamp(),
  updatedAt: Timestamp(),
  createdBy: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  updatedBy: Type.Union([Type.String({ format: 'uuid' }), Type.Null()])
}, {
  $id: 'UserView',
  examples: [{
    id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f',
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    phone: null,
    type: 'customer',
    status: 'active',
    hasPassword: true,
    verifiedAt: '2026-11-21T10:00:00.000Z',
    postCode: null,
    country: null,
    city: null,
    isProfileReverified: false,
    profileReverifiedAt: null,
    createdAt: '2026-11-21T10:00:00.000Z',
    updatedAt: '2026-11-21T10:00:00.000Z',
    createdBy: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f',
    updatedBy: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f'
  }]
})
export type UserViewType = Static<typeof UserView>
