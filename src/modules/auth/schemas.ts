import { Text as NulFreeText, Timestamp } from '../../platform/schema-types.ts'
import { Type, type Static } from '@sinclair/typebox'
import { SessionRef } from '../sessions/schemas.ts'

// Requests and responses of /auth. Unknown fields are refused (400 naming the field).

const strict = { additionalProperties: false } as const

export const Email = Type.String({ format: 'email', maxLength: 254, examples: ['ada@example.com'] })
export const Password = NulFreeText({ minLength: 8, maxLength: 256, description: '8-256 characters', examples: ['correct horse battery staple'] })
export const Code = Type.String({ pattern: '^[0-9]{6}$', description: 'the 6-digit code from the email', examples: ['123456'] })
export const Mode = Type.Union([Type.Literal('body'), Type.Literal('cookie')], {
  description: 'body: tokens in the response body; cookie: HttpOnly cookies instead (browsers)'
})

const Text = (max: number) => NulFreeText({ maxLength: max })

export const Analytics = Type.Object({
  referrerUrl: Type.Optional(Text(2048)),
  landingPage: Type.Optional(Text(2048)),
  utmSource: Type.Optional(Text(256)),
  utmMedium: Type.Optional(Text(256)),
  utmCampaign: Type.Optional(Text(256)),
  utmTerm: Type.Optional(Text(256)),
  utmContent: Type.Optional(Text(256)),
  deviceFingerprint: Type.Optional(NulFreeText({ minLength: 8, maxLength: 128, description: 'the client\'s own stable device id' })),
  timezone: Type.Optional(NulFreeText({ maxLength: 64, description: 'IANA zone, e.g. Europe/Paris' })),
  sessionType: Type.Optional(Type.Union([Type.Literal('web'), Type.Literal('mobile'), Type.Literal('api')]))
}, { ...strict, description: 'optional attribution and device details; sign-in works without any' })

export const SignupBody = Type.Object({
  email: Email,
  name: NulFreeText({ minLength: 1, maxLength: 120 }),
  password: Type.Optional(Password),
  type: Type.Optional(Type.Union([Type.Literal('customer'), Type.Literal('vendor')])),
  workspaceName: Type.Optional(NulFreeText({ minLength: 1, maxLength: 120 })),
  phone: Type.Optional(Type.String({ pattern: '^\\+?[0-9 ()-]{6,20}$' })),
  analytics: Type.Optional(Analytics)
}, { ...strict, examples: [{ email: 'ada@example.com', name: 'Ada Lovelace', password: 'correct horse battery staple', type: 'vendor', workspaceName: 'Analytical Engines' }] })
export type SignupBody = Static<typeof SignupBody>

export const SignupAccepted = Type.Object({
  signupId: Type.String({ format: 'uuid' }),
  expiresAt: Timestamp()
}, { examples: [{ signupId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f', expiresAt: '2026-11-22T10:00:00.000Z' }] })

export const ResendBody = Type.Union([
  Type.Object({ signupId: Type.String({ format: 'uuid' }) }, strict),
  Type.Object({ email: Email }, strict)
], { examples: [{ signupId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f' }] })
export type ResendBody = Static<typeof ResendBody>

export const ResumeBody = Type.Object({ email: Email }, { ...strict, examples: [{ email: 'ada@example.com' }] })

export const VerifySignupBody = Type.Object({
  signupId: Type.String({ format: 'uuid' }),
  code: Code,
  mode: Type.Optional(Mode),
  analytics: Type.Optional(Analytics)
}, { ...strict, examples: [{ signupId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f', code: '123456' }] })
export type VerifySignupBody = Static<typeof VerifySignupBody>

export const Tokens = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'seconds until the access token expires' })
}, { $id: 'Tokens' })

export const Membership = Type.Object({
  workspaceId: Type.String({ format: 'uuid' }),
  name: Type.String(),
  slug: Type.String(),
  role: Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')])
})

const UserRef = Type.Ref('UserView')

export const SignedInResponse = Type.Object({
  user: UserRef,
  session: SessionRef,
  tokens: Type.Optional(Type.Ref('Tokens'))
}, { description: 'tokens are omitted in cookie mode' })

export const SignupCompleted = Type.Object({
  user: UserRef,
  workspace: Type.Union([Type.Ref('WorkspaceView'), Type.Null()]),
  session: SessionRef,
  tokens: Type.Optional(Type.Ref('Tokens'))
})

export const LoginBody = Type.Object({
  email: Email,
  password: NulFreeText({ minLength: 1, maxLength: 256 }),
  mode: Type.Optional(Mode),
  analytics: Type.Optional(Analytics)
}, { ...strict, examples: [{ email: 'ada@example.com', password: 'correct horse battery staple', mode: 'body' }] })
export type LoginBody = Static<typeof LoginBody>

export const OtpSendBody = Type.Object({
  email: Email,
  channel: Type.Optional(Type.Union([Type.Literal('email'), Type.Literal('sms')], { default: 'email' }))
}, { ...strict, examples: [{ email: 'ada@example.com', channel: 'email' }] })

export const OtpVerifyBody = Type.Object({
  email: Email,
  code: Code,
  mode: Type.Optional(Mode),
  analytics: Type.Optional(Analytics)
}, { ...strict, examples: [{ email: 'ada@example.com', code: '123456' }] })
export type OtpVerifyBody = Static<typeof OtpVerifyBody>

export const RefreshBody = Type.Object({
  refreshToken: Type.Optional(NulFreeText({ maxLength: 200 }))
}, { ...strict, description: 'omit refreshToken to use the refresh_token cookie' })

export const ForgotBody = Type.Object({ email: Email }, { ...strict, examples: [{ email: 'ada@example.com' }] })
export const ResetBody = Type.Object({ token: NulFreeText({ minLength: 20, maxLength: 200 }), password: Password }, strict)
export const ChangePasswordBody = Type.Object({
  currentPassword: Type.Optional(NulFreeText({ minLength: 1, maxLength: 256 })),
  newPassword: Password
}, { ...strict, description: 'currentPassword is required when the account has a password' })

export const RefreshResponse = Type.Object({
  accessToken: Type.Optional(Type.String()),
  refreshToken: Type.Optional(Type.String()),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer()
}, { description: 'in cookie mode the tokens are set as cookies and left out of the body' })

export const Accepted = Type.Object({ accepted: Type.Literal(true) }, { examples: [{ accepted: true }] })

export const MeResponse = Type.Object({
  user: UserRef,
  workspaces: Type.Array(Membership, { description: 'the workspaces the user belongs to, with their role' })
})
