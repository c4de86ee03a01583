import { Type, type Static } from '@sinclair/typebox'
import { Page } from '../../platform/pagination.ts'
import { Nullable, NullableTimestamp, Strict, Text, Timestamp, Uuid } from '../../platform/schema-types.ts'
import { UserType } from '../../platform/principal.ts'
import { E164Phone } from '../../platform/phone.ts'

export const UserStatus = Type.Union([Type.Literal('pending'), Type.Literal('active'), Type.Literal('inactive'), Type.Literal('suspended')])
export type UserStatus = Static<typeof UserStatus>

export const UserView = Type.Object({
  id: Uuid(),
  email: Type.String({ format: 'email' }),
  name: Type.String(),
  phone: Nullable(Type.String()),
  phoneVerifiedAt: Type.Union([Timestamp(), Type.Null()], { description: 'when the phone proved itself with an SMS code (null: unverified); only a verified phone receives sign-in codes' }),
  type: UserType,
  status: UserStatus,
  hasPassword: Type.Boolean(),
  verifiedAt: NullableTimestamp(),
  postCode: Nullable(Type.String()),
  country: Nullable(Type.String()),
  city: Nullable(Type.String()),
  isProfileReverified: Type.Boolean(),
  profileReverifiedAt: NullableTimestamp(),
  createdAt: Timestamp(),
  updatedAt: Timestamp(),
  createdBy: Nullable(Uuid()),
  updatedBy: Nullable(Uuid())
}, {
  $id: 'UserView',
  examples: [{
    id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f',
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    phone: null,
    phoneVerifiedAt: null,
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
export type UserView = Static<typeof UserView>
export const UserRef = Type.Ref(UserView)
export const UserPage = Page(UserRef, { examples: [{ items: UserView.examples, nextCursor: null }] })

const Phone = Type.String({ pattern: '^\\+?[0-9 ()-]{6,20}$', examples: ['+33 6 12 34 56 78'] })
const ShortText = (max = 120) => Text({ minLength: 1, maxLength: max })
const CountryCode = () => Type.String({ pattern: '^[A-Za-z]{2}$', description: 'ISO 3166-1 alpha-2' })

export const ProfilePatch = Strict({
  name: Type.Optional(ShortText()),
  phone: Type.Optional(Nullable(Phone)),
  postCode: Type.Optional(Nullable(ShortText(20))),
  country: Type.Optional(Nullable(CountryCode())),
  city: Type.Optional(Nullable(ShortText()))
})
export type ProfilePatch = Static<typeof ProfilePatch>

export const MePatchBody = Strict({
  ...ProfilePatch.properties,
  email: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'starts a change: a code goes to the new address (recent sign-in needed)' }))
}, { minProperties: 1, examples: [{ name: 'Ada King', city: 'London', country: 'GB' }] })

export const MePatchResponse = Type.Object({
  user: Type.Ref(UserView),
  pendingEmail: Type.Optional(Type.Object({ email: Type.String(), expiresAt: Timestamp() }, { description: 'present when an email change awaits its code' }))
}, { examples: [{ user: UserView.examples[0], pendingEmail: { email: 'ada.king@example.com', expiresAt: '2026-11-21T10:15:00.000Z' } }] })

export const EmailVerifyBody = Strict({ code: Type.String({ pattern: '^[0-9]{6}$' }) }, { examples: [{ code: '123456' }] })

export const AddressView = Type.Object({
  id: Uuid(),
  street: Type.String(),
  city: Type.String(),
  state: Nullable(Type.String()),
  zipCode: Type.String(),
  country: Type.String(),
  isDefault: Type.Boolean(),
  createdAt: Timestamp(),
  updatedAt: Timestamp()
}, {
  $id: 'AddressView',
  examples: [{
    id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9eb0',
    street: '12 Analytical Row',
    city: 'London',
    state: null,
    zipCode: 'N1 9GU',
    country: 'GB',
    isDefault: true,
    createdAt: '2026-11-21T10:00:00.000Z',
    updatedAt: '2026-11-21T10:00:00.000Z'
  }]
})
export type AddressView = Static<typeof AddressView>
export const AddressRef = Type.Ref(AddressView)
export const AddressList = Type.Object({ items: Type.Array(AddressRef) }, { examples: [{ items: AddressView.examples }] })

const addressFields = {
  street: ShortText(200),
  city: ShortText(),
  state: Type.Optional(Nullable(ShortText())),
  zipCode: ShortText(20),
  country: CountryCode(),
  isDefault: Type.Optional(Type.Boolean())
}
export const AddressBody = Strict(addressFields, { examples: [{ street: '12 Analytical Row', city: 'London', zipCode: 'N1 9GU', country: 'GB', isDefault: true }] })
export type AddressBody = Static<typeof AddressBody>
export const AddressPatch = Type.Partial(Strict(addressFields), { additionalProperties: false, minProperties: 1, examples: [{ isDefault: true }] })
export type AddressPatch = Static<typeof AddressPatch>
export const AddressParams = Type.Object({ id: Uuid() })

export const UserIdParams = Type.Object({ id: Uuid() })

export const UserSearchQuery = Strict({
  q: Type.Optional(Text({ minLength: 1, maxLength: 100, description: 'part of a name or email' })),
  type: Type.Optional(UserType),
  status: Type.Optional(UserStatus),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Text({ maxLength: 512 }))
})
export type UserSearchQuery = Static<typeof UserSearchQuery>

export const AdminCreateUserBody = Strict({
  email: Type.String({ format: 'email', maxLength: 254 }),
  name: ShortText(),
  type: UserType,
  status: Type.Optional(UserStatus),
  password: Type.Optional(Text({ minLength: 8, maxLength: 256 })),
  phone: Type.Optional(Phone)
}, { examples: [{ email: 'ops@example.com', name: 'Ops', type: 'admin' }] })

export const AdminUserPatch = Strict({
  ...ProfilePatch.properties,
  type: Type.Optional(UserType)
}, { minProperties: 1, examples: [{ name: 'Ada King', type: 'vendor' }] })
export type AdminUserPatch = Static<typeof AdminUserPatch>

export const StatusBody = Strict({ status: UserStatus }, { examples: [{ status: 'suspended' }] })

export const PhoneBody = Strict({ phone: E164Phone() }, { examples: [{ phone: '+33612345678' }] })
export const PhoneCodeBody = Strict({ code: Type.String({ pattern: '^[0-9]{6}$', description: 'the 6-digit code from the SMS' }) }, { examples: [{ code: '123456' }] })
export const PendingPhone = Type.Object({
  phone: Type.String({ description: 'the number the code was sent to' }),
  expiresAt: Timestamp()
}, { examples: [{ phone: '+33612345678', expiresAt: '2026-11-21T10:10:00.000Z' }] })
