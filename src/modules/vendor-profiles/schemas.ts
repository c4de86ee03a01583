import { Type, type Static } from '@sinclair/typebox'
import { DateTimeText, Nullable, Strict, Text as NulFreeText, Timestamp, Uuid } from '../../platform/schema-types.ts'
import { Page, PageQuery } from '../../platform/pagination.ts'

const Text = (max = 200) => NulFreeText({ minLength: 1, maxLength: max })
const Day = Type.Union(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => Type.Literal(d)))
/** What a platform admin decides about a profile. */
export const ReviewDecision = Type.Union([Type.Literal('approved'), Type.Literal('rejected')])
export type ReviewDecision = Static<typeof ReviewDecision>
/** A profile waits for review (`pending`) until an admin decides. */
export const ReviewStatus = Type.Union([Type.Literal('pending'), ...ReviewDecision.anyOf])
export type ReviewStatus = Static<typeof ReviewStatus>

const fields = {
  businessType: NulFreeText({ minLength: 1, maxLength: 60, description: 'e.g. manufacturer, wholesaler, retailer, services', examples: ['manufacturer'] }),
  businessName: Text(),
  companyName: Type.Optional(Nullable(Text())),
  contactPerson: Type.Optional(Nullable(Text(120))),
  designation: Type.Optional(Nullable(Text(120))),
  country: Type.Optional(Nullable(Type.String({ pattern: '^[A-Za-z]{2}$', description: 'ISO 3166-1 alpha-2' }))),
  city: Type.Optional(Nullable(Text(120))),
  website: Type.Optional(Nullable(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048 }))),
  gstNumber: Type.Optional(Nullable(Type.String({ pattern: '^[A-Za-z0-9-]{5,30}$', description: 'tax registration number' }))),
  address: Type.Optional(Nullable(Text(500))),
  companyDetails: Type.Optional(Nullable(Text(5000))),
  whatsappNumber: Type.Optional(Nullable(Type.String({ pattern: '^\\+?[0-9 ()-]{6,20}$' }))),
  workingDays: Type.Optional(Type.Array(Day, { uniqueItems: true, maxItems: 7 })),
  employeeCount: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 10_000_000 }))),
  paymentMode: Type.Optional(Type.Array(NulFreeText({ minLength: 1, maxLength: 40 }), { uniqueItems: true, maxItems: 10, examples: [['bank_transfer', 'card']] })),
  establishment: Type.Optional(Nullable(Type.Integer({ minimum: 1800, maximum: 2100, description: 'year the business was established' })))
}

export const CreateProfileBody = Strict({
  ...fields,
  userId: Type.Optional(Uuid({ description: 'platform admins only: the vendor the profile is for' }))
}, { examples: [{ businessType: 'manufacturer', businessName: 'Hopper Computing', country: 'US', city: 'New York', workingDays: ['mon', 'tue', 'wed', 'thu', 'fri'], paymentMode: ['bank_transfer'], establishment: 1952 }] })
export type CreateProfileBody = Static<typeof CreateProfileBody>

export const UpdateProfileBody = Type.Partial(Strict(fields), { additionalProperties: false, minProperties: 1, examples: [{ city: 'Arlington', employeeCount: 42 }] })
export type UpdateProfileBody = Static<typeof UpdateProfileBody>

export const ReviewBody = Strict({
  status: ReviewDecision,
  reason: Type.Optional(Text(1000)),
  expectedUpdatedAt: Type.Optional(DateTimeText({
    description: 'the updatedAt of the profile as you reviewed it: if the profile changed since (a new legal identity, say), 409 PROFILE_CHANGED and nothing is decided'
  }))
}, { description: 'a rejection needs a reason; send expectedUpdatedAt so that only the version you saw is decided', examples: [{ status: 'approved', expectedUpdatedAt: '2026-01-02T03:04:05.678Z' }, { status: 'rejected', reason: 'The certificate is unreadable.' }] })

export type ReviewBody = Static<typeof ReviewBody>

export const ProfileParams = Type.Object({ id: Uuid() })
export const ByUserParams = Type.Object({ userId: Uuid() })

export const ProfileQuery = Strict({
  q: Type.Optional(NulFreeText({ minLength: 1, maxLength: 100, description: 'part of the business or company name' })),
  businessType: Type.Optional(NulFreeText({ maxLength: 60 })),
  country: Type.Optional(Type.String({ pattern: '^[A-Za-z]{2}$' })),
  reviewStatus: Type.Optional(ReviewStatus),
  ...PageQuery
}, { description: 'reviewStatus filters for platform admins; everyone else sees approved profiles' })
export type ProfileQuery = Static<typeof ProfileQuery>

export const ProfileView = Type.Object({
  id: Uuid(),
  userId: Uuid(),
  businessType: Type.String(),
  businessName: Type.String(),
  companyName: Nullable(Type.String()),
  contactPerson: Nullable(Type.String()),
  designation: Nullable(Type.String()),
  country: Nullable(Type.String()),
  city: Nullable(Type.String()),
  website: Nullable(Type.String()),
  gstNumber: Nullable(Type.String()),
  address: Nullable(Type.String()),
  companyDetails: Nullable(Type.String()),
  whatsappNumber: Nullable(Type.String()),
  workingDays: Type.Array(Type.String()),
  employeeCount: Nullable(Type.Integer()),
  paymentMode: Type.Array(Type.String()),
  establishment: Nullable(Type.Integer()),
  logo: Nullable(Type.String({ description: 'public URL' })),
  businessRegistrationCertificate: Nullable(Type.String({ description: 'private URL: shown to the vendor and platform admins only' })),
  reviewStatus: ReviewStatus,
  reviewReason: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'the vendor and platform admins only' })),
  reviewedAt: Type.Optional(Type.Union([Timestamp(), Type.Null()], { description: 'the vendor and platform admins only' })),
  reviewedBy: Type.Optional(Type.Union([Uuid(), Type.Null()], { description: 'platform admins only' })),
  createdAt: Timestamp(),
  updatedAt: Timestamp(),
  createdBy: Type.Optional(Type.Union([Uuid(), Type.Null()], { description: 'platform admins only' })),
  updatedBy: Type.Optional(Type.Union([Uuid(), Type.Null()], { description: 'platform admins only' }))
}, {
  $id: 'VendorProfileView',
  examples: [{
    id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9ec0',
    userId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e70',
    businessType: 'manufacturer',
    businessName: 'Hopper Computing',
    companyName: 'Hopper Computing Ltd',
    contactPerson: 'Grace Hopper',
    designation: 'Founder',
    country: 'US',
    city: 'New York',
    website: 'https://hopper.example.com',
    gstNumber: null,
    address: null,
    companyDetails: null,
    whatsappNumber: null,
    workingDays: ['mon', 'tue', 'wed', 'thu', 'fri'],
    employeeCount: 12,
    paymentMode: ['bank_transfer'],
    establishment: 1952,
    logo: 'http://localhost:3000/files/01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9ec1.png',
    businessRegistrationCertificate: null,
    reviewStatus: 'approved',
    createdAt: '2026-11-21T10:00:00.000Z',
    updatedAt: '2026-11-21T10:00:00.000Z'
  }]
})
export type ProfileView = Static<typeof ProfileView>
export const ProfileRef = Type.Ref(ProfileView)
export const ProfilePage = Page(ProfileRef, { examples: [{ items: ProfileView.examples, nextCursor: null }] })
