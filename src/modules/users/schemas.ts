import { NullableTimestamp, Text, Timestamp } from '../../platform/schema-types.ts'
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

const strict = { additionalProperties: false } as const
const Uuid = Type.String({ format: 'uuid' })
const Phone = Type.String({ pattern: '^\\+?[0-9 ()-]{6,20}$', examples: ['+33 6 12 34 56 78'] })
const ShortText = (max = 120) => Text({ minLength: 1, maxLength: max })

export const ProfilePatch = Type.Object({
  name: Type.Optional(ShortText()),
  phone: Type.Optional(Type.Union([Phone, Type.Null()])),
  postCode: Type.Optional(Type.Union([ShortText(20), Type.Null()])),
  country: Type.Optional(Type.Union([Type.String({ pattern: '^[A-Za-z]{2}$', description: 'ISO 3166-1 alpha-2' }), Type.Null()])),
  city: Type.Optional(Type.Union([ShortText(), Type.Null()]))
}, strict)

export const MePatchBody = Type.Object({
  ...ProfilePatch.properties,
  email: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'starts a change: a code goes to the new address (recent sign-in needed)' }))
}, { ...strict, minProperties: 1, examples: [{ name: 'Ada King', city: 'London', country: 'GB' }] })

export const MePatchResponse = Type.Object({
  user: Type.Ref('UserView'),
  pendingEmail: Type.Optional(Type.Object({ email: Type.String(), expiresAt: Timestamp() }, { description: 'present when an email change awaits its code' }))
})

export const EmailVerifyBody = Type.Object({ code: Type.String({ pattern: '^[0-9]{6}$' }) }, { ...strict, examples: [{ code: '123456' }] })

export const AddressView = Type.Object({
  id: Uuid,
  street: Type.String(),
  city: Type.String(),
  state: Type.Union([Type.String(), Type.Null()]),
  zipCode: Type.String(),
  country: Type.String(),
  isDefault: Type.Boolean(),
  createdAt: Timestamp(),
  updatedAt: Timestamp()
}, { $id: 'AddressView' })

const addressFields = {
  street: ShortText(200),
  city: ShortText(),
  state: Type.Optional(Type.Union([ShortText(), Type.Null()])),
  zipCode: ShortText(20),
  country: Type.String({ pattern: '^[A-Za-z]{2}$', description: 'ISO 3166-1 alpha-2' }),
  isDefault: Type.Optional(Type.Boolean())
}
export const AddressBody = Type.Object(addressFields, { ...strict, examples: [{ street: '12 Analytical Row', city: 'London', zipCode: 'N1 9GU', country: 'GB', isDefault: true }] })
export const AddressPatch = Type.Partial(Type.Object(addressFields, strict), { ...strict, minProperties: 1 })
export const AddressParams = Type.Object({ id: Uuid })

export const UserIdParams = Type.Object({ id: Uuid })

export const UserSearchQuery = Type.Object({
  q: Type.Optional(Text({ minLength: 1, maxLength: 100, description: 'part of a name or email' })),
  type: Type.Optional(UserTypeSchema),
  status: Type.Optional(UserStatusSchema),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Text({ maxLength: 512 }))
}, strict)

export const AdminCreateUserBody = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
  name: ShortText(),
  type: UserTypeSchema,
  status: Type.Optional(UserStatusSchema),
  password: Type.Optional(Text({ minLength: 8, maxLength: 256 })),
  phone: Type.Optional(Phone)
}, { ...strict, examples: [{ email: 'ops@example.com', name: 'Ops', type: 'admin' }] })

export const AdminUserPatch = Type.Object({
  ...ProfilePatch.properties,
  type: Type.Optional(UserTypeSchema)
}, { ...strict, minProperties: 1 })

export const StatusBody = Type.Object({ status: UserStatusSchema }, { ...strict, examples: [{ status: 'suspended' }] })
