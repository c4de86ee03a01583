import { Type, type Static } from '@sinclair/typebox'
import { Nullable, Strict, Text, Timestamp, Uuid } from '../../platform/schema-types.ts'
import { E164Phone } from '../../platform/phone.ts'
import { Analytics, SessionRef, SessionView } from '../sessions/public.ts'
import { UserView } from '../users/public.ts'
import { WorkspaceRole, WorkspaceView } from '../workspaces/public.ts'

// Requests and responses of /auth. Unknown fields are refused (400 naming the field).

export const Email = Type.String({ format: 'email', maxLength: 254, examples: ['ada@example.com'] })
export const Password = Text({ minLength: 8, maxLength: 256, description: '8-256 characters', examples: ['correct horse battery staple'] })
export const Code = Type.String({ pattern: '^[0-9]{6}$', description: 'the 6-digit code from the email or SMS', examples: ['123456'] })
export const Mode = Type.Union([Type.Literal('body'), Type.Literal('cookie')], {
  description: 'body: tokens in the response body; cookie: HttpOnly cookies instead (browsers)'
})

export const SignupBody = Strict({
  email: Email,
  name: Text({ minLength: 1, maxLength: 120 }),
  password: Type.Optional(Password),
  type: Type.Optional(Type.Union([Type.Literal('customer'), Type.Literal('vendor')])),
  workspaceName: Type.Optional(Text({ minLength: 1, maxLength: 120 })),
  phone: Type.Optional(E164Phone({ description: 'E.164 (+ and digits); required with verifyBy: sms, and then verified by the code' })),
  verifyBy: Type.Optional(Type.Union([Type.Literal('email'), Type.Literal('sms')], { default: 'email', description: 'where the code goes: the email (default) or, by SMS, the phone' })),
  analytics: Type.Optional(Analytics)
}, {
  examples: [
    { email: 'ada@example.com', name: 'Ada Lovelace', password: 'correct horse battery staple', type: 'vendor', workspaceName: 'Analytical Engines' },
    { email: 'grace@example.com', name: 'Grace Hopper', phone: '+33612345678', verifyBy: 'sms' }
  ]
})
export type SignupBody = Static<typeof SignupBody>

export const SignupAccepted = Type.Object({
  signupId: Uuid(),
  expiresAt: Timestamp()
}, { examples: [{ signupId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f', expiresAt: '2026-11-22T10:00:00.000Z' }] })
export type SignupAccepted = Static<typeof SignupAccepted>

export const ResendBody = Type.Union([
  Strict({ signupId: Uuid() }),
  Strict({ email: Email })
], { examples: [{ signupId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f' }] })
export type ResendBody = Static<typeof ResendBody>

export const ResumeBody = Strict({ email: Email }, { examples: [{ email: 'ada@example.com' }] })

export const VerifySignupBody = Strict({
  signupId: Uuid(),
  code: Code,
  mode: Type.Optional(Mode),
  analytics: Type.Optional(Analytics)
}, { examples: [{ signupId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f', code: '123456' }] })
export type VerifySignupBody = Static<typeof VerifySignupBody>

const refreshTokenExample = '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f.q3JkY2Vzc2lvbi1zZWNyZXQtb2YtZm9ydHktdGhyZWUtY2hhcnM'
const tokensExample = {
  accessToken: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwMTkzNmIyZSJ9.c2lnbmF0dXJl',
  refreshToken: refreshTokenExample,
  tokenType: 'Bearer',
  expiresIn: 900
}
// Responses built of shared views show those views' own examples.
const signedInExample = { user: UserView.examples[0], session: SessionView.examples[0], tokens: tokensExample }

export const Tokens = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'seconds until the access token expires' })
}, { $id: 'Tokens', examples: [tokensExample] })
export type Tokens = Static<typeof Tokens>

export const Membership = Type.Object({
  workspaceId: Uuid(),
  name: Type.String(),
  slug: Type.String(),
  role: WorkspaceRole
})

export const SignedInResponse = Type.Object({
  user: Type.Ref(UserView),
  session: SessionRef,
  tokens: Type.Optional(Type.Ref(Tokens))
}, { description: 'tokens are omitted in cookie mode', examples: [signedInExample] })

export const SignupCompleted = Type.Object({
  user: Type.Ref(UserView),
  workspace: Nullable(Type.Ref(WorkspaceView)),
  session: SessionRef,
  tokens: Type.Optional(Type.Ref(Tokens))
}, { description: 'workspace is null for a customer; tokens are omitted in cookie mode', examples: [{ ...signedInExample, workspace: null }] })

export const LoginBody = Strict({
  email: Email,
  password: Text({ minLength: 1, maxLength: 256 }),
  mode: Type.Optional(Mode),
  analytics: Type.Optional(Analytics)
}, { examples: [{ email: 'ada@example.com', password: 'correct horse battery staple', mode: 'body' }] })
export type LoginBody = Static<typeof LoginBody>

export const OtpSendBody = Strict({
  email: Type.Optional(Email),
  phone: Type.Optional(E164Phone({ description: 'a verified phone (E.164): the code goes to it by SMS; give email or phone, not both' })),
  channel: Type.Optional(Type.Union([Type.Literal('email'), Type.Literal('sms')], { description: 'with email: email (default) or sms to the account\'s verified phone' }))
}, { examples: [{ email: 'ada@example.com', channel: 'email' }, { phone: '+33612345678' }] })
export type OtpSendBody = Static<typeof OtpSendBody>

export const OtpVerifyBody = Strict({
  email: Type.Optional(Email),
  phone: Type.Optional(E164Phone({ description: 'the phone the code was sent to, when it was asked for by phone' })),
  code: Code,
  mode: Type.Optional(Mode),
  analytics: Type.Optional(Analytics)
}, { examples: [{ email: 'ada@example.com', code: '123456' }, { phone: '+33612345678', code: '123456' }] })
export type OtpVerifyBody = Static<typeof OtpVerifyBody>

export const RefreshBody = Strict({
  refreshToken: Type.Optional(Text({ maxLength: 200 }))
}, { description: 'omit refreshToken to use the refresh_token cookie', examples: [{ refreshToken: refreshTokenExample }] })

export const ForgotBody = Strict({ email: Email }, { examples: [{ email: 'ada@example.com' }] })
export const ResetBody = Strict({ token: Text({ minLength: 20, maxLength: 200, description: 'the token from the emailed link' }), password: Password }, {
  examples: [{ token: 'mF3kq9Zr2VbX7cTn1pLw8yHs4dJe6uAo', password: 'a new, longer passphrase' }]
})
export const ChangePasswordBody = Strict({
  currentPassword: Type.Optional(Text({ minLength: 1, maxLength: 256 })),
  newPassword: Password
}, { description: 'currentPassword is required when the account has a password', examples: [{ currentPassword: 'correct horse battery staple', newPassword: 'a new, longer passphrase' }] })

export const RefreshResponse = Type.Object({
  accessToken: Type.Optional(Type.String()),
  refreshToken: Type.Optional(Type.String()),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer()
}, { description: 'in cookie mode the tokens are set as cookies and left out of the body', examples: [tokensExample, { tokenType: 'Bearer', expiresIn: 900 }] })

export const Accepted = Type.Object({ accepted: Type.Literal(true) }, { examples: [{ accepted: true }] })

export const MeResponse = Type.Object({
  user: Type.Ref(UserView),
  workspaces: Type.Array(Membership, { description: 'the workspaces the user belongs to, with their role' })
}, { examples: [{ user: UserView.examples[0], workspaces: [{ workspaceId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80', name: 'Hopper Computing', slug: 'hopper-computing', role: 'owner' }] }] })
export type MeView = Static<typeof MeResponse>
