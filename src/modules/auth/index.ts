import cookie from '@fastify/cookie'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { problems } from '../../platform/errors.ts'
import { principalOf } from '../../platform/principal.ts'
import { bodyDefaultsToEmpty } from '../../platform/route-hooks.ts'
import { cameThroughTrustedProxy } from '../../platform/security.ts'
import type { ClientRequest } from '../sessions/public.ts'
import { clearAuthCookies, readCookies, REFRESH_COOKIE, setAuthCookies } from './cookies.ts'
import { allowedOrigins, checkCsrf } from './guard.ts'
import { me } from './me.ts'
import { otpTarget, sendSigninCode, verifySigninCode } from './otp.ts'
import { changePassword, forgotPassword, login, resetPassword } from './password-flows.ts'
import {
  Accepted, ChangePasswordBody, ForgotBody, LoginBody, MeResponse, OtpSendBody, OtpVerifyBody, RefreshBody, RefreshResponse,
  ResendBody, ResetBody, ResumeBody, SignedInResponse, SignupAccepted, SignupBody, SignupCompleted, VerifySignupBody
} from './schemas.ts'
import type { SignedIn, SignInContext } from './sign-in.ts'
import { logout, logoutEverywhere } from './sign-out.ts'
import { resendSignupCode, resumeSignup, startSignup, verifySignup } from './signup.ts'
import { refresh, type AuthDeps } from './tokens.ts'

const tags = ['auth']

const auth: FastifyPluginAsyncTypebox = async (app) => {
  // Per client IP, on top of the per-account limits in the services: shared through Redis.
  const strictLimit = { rateLimit: { max: app.config.authRateLimitMax, timeWindow: 60_000 } }

  // Cookies are set only here (cookie mode), so the cookie plugin's hooks stay in this scope.
  await app.register(cookie)

  const deps: AuthDeps = { ...app.deps, signAccessToken: (claims) => app.jwt.sign(claims) }
  const origins = allowedOrigins(app.config)

  const clientOf = (request: FastifyRequest): ClientRequest => ({
    ip: request.ip,
    headers: request.headers,
    trustProxy: cameThroughTrustedProxy(request)
  })

  const contextOf = (request: FastifyRequest, body: { mode?: 'body' | 'cookie', analytics?: SignInContext['analytics'] }): SignInContext => ({
    client: clientOf(request),
    analytics: body.analytics,
    cookieMode: body.mode === 'cookie',
    current: request.principal
  })

  /** Body mode returns the tokens; cookie mode sets them as cookies and leaves them out. */
  function deliver<T extends { tokens?: SignedIn['tokens'] }> (reply: FastifyReply, mode: 'body' | 'cookie' | undefined, result: T): T {
    if (mode !== 'cookie' || !result.tokens) return result
    setAuthCookies(reply, app.config, result.tokens, app.random.token(24))
    const { tokens: _tokens, ...rest } = result
    return rest as T
  }

  app.post('/auth/signup', {
    config: strictLimit,
    schema: {
      operationId: 'startSignup',
      tags,
      summary: 'Start a sign-up: a code is emailed (or texted); nothing is stored in Postgres until it is confirmed',
      description: 'Answers 202 whether or not the email is registered; a registered email receives a message saying so instead of a code. verifyBy: sms sends the code by SMS to phone (E.164, required then) instead, and completing the sign-up marks that phone verified, not the email (verifiedAt stays null until an emailed sign-in code or a password reset proves it), and emails the address that a phone was added; for a registered email the phone still gets a code, which never completes the sign-up. Six SMS sign-ups per phone an hour, and twenty texts an hour per client however asked for (429). 422 CHANNEL_UNAVAILABLE when SMS is not configured.',
      body: SignupBody,
      response: { 202: SignupAccepted, ...problems(422) }
    }
  }, async (request, reply) => reply.code(202).send(await startSignup(deps, request.body, request.ip)))

  app.post('/auth/signup/resend', {
    config: strictLimit,
    schema: {
      operationId: 'resendSignupCode',
      tags,
      summary: 'Send a new sign-up code (at most one a minute); the old one stops working',
      description: 'By `signupId`: 429 within a minute of the last code, else 202 (five codes per sign-up, then it must be started again; six new codes per email per hour). By `email`: the same as /auth/signup/resume.',
      body: ResendBody,
      response: { 202: SignupAccepted }
    }
  }, async (request, reply) => reply.code(202).send('email' in request.body
    ? await resumeSignup(deps, request.body.email, request.ip)
    : await resendSignupCode(deps, request.body.signupId, request.ip)))

  app.post('/auth/signup/resume', {
    config: strictLimit,
    schema: {
      operationId: 'resumeSignup',
      tags,
      summary: 'Email a fresh code for an unfinished sign-up',
      description: 'Answers 202 with a new signupId every time, whether or not a sign-up exists for the email; never the sign-up\'s own id. When a code was sent, that id (like the one in the emailed link) verifies the sign-up with the new code.',
      body: ResumeBody,
      response: { 202: SignupAccepted }
    }
  }, async (request, reply) => reply.code(202).send(await resumeSignup(deps, request.body.email, request.ip)))

  app.post('/auth/signup/verify', {
    config: strictLimit,
    schema: {
      operationId: 'verifySignup',
      tags,
      summary: 'Confirm a sign-up with its code: creates the user (and workspace) and signs in',
      description: 'Five wrong codes burn the sign-up\'s code (400 CODE_BURNT), as do ten wrong codes for one email within an hour; request a new one.',
      body: VerifySignupBody,
      response: { 201: SignupCompleted, ...problems(409) }
    }
  }, async (request, reply) => {
    const result = await verifySignup(deps, request.body, contextOf(request, request.body))
    const { created: _created, ...body } = result
    return reply.code(201).send(deliver(reply, request.body.mode, body))
  })

  app.post('/auth/login', {
    config: { ...strictLimit, auth: 'optional' },
    schema: {
      operationId: 'signInWithPassword',
      tags,
      summary: 'Sign in with email and password',
      description: 'A wrong email and a wrong password give the same 401 INVALID_CREDENTIALS. Sent by a client that is already signed in as the same user, it re-authenticates the current session (fresh auth_time for step-up) instead of creating one.',
      body: LoginBody,
      response: { 200: SignedInResponse }
    }
  }, async (request, reply) => {
    const { created: _created, ...result } = await login(deps, request.body, contextOf(request, request.body))
    return deliver(reply, request.body.mode, result)
  })

  app.post('/auth/otp/send', {
    config: strictLimit,
    schema: {
      operationId: 'sendSignInCode',
      tags,
      summary: 'Send a one-time sign-in code by email or SMS (202 always; 10 minutes, 5 attempts, one send a minute)',
      description: '{ email }: the code goes by email, or by SMS to the account\'s verified phone (channel: sms). { phone } (E.164): by SMS to that phone when it is an active account\'s verified phone. The answer is the same whether or not such an account exists, and nothing is sent when none does; sends beyond one a minute or ten an hour per email or phone, texts beyond one a minute or ten an hour to one phone (asked for by email or by phone alike), and texts beyond twenty an hour per client (an IPv6 /64 is one client; shared with sign-up and phone verification), are silently skipped. A new code voids the account\'s earlier one, asked for either way. 400 naming the field for a malformed phone or both email and phone; 422 CHANNEL_UNAVAILABLE when SMS is not configured.',
      body: OtpSendBody,
      response: { 202: Accepted, ...problems(422) }
    }
  }, async (request, reply) => {
    await sendSigninCode(deps, { ...otpTarget(request.body), ip: request.ip })
    return reply.code(202).send({ accepted: true as const })
  })

  app.post('/auth/otp/verify', {
    config: { ...strictLimit, auth: 'optional' },
    schema: {
      operationId: 'signInWithCode',
      tags,
      summary: 'Sign in with a one-time code',
      description: 'The code from POST /auth/otp/send, once, with the email or the phone it was asked for by. A wrong, used or expired code is 401 INVALID_CODE, as is a texted code once its phone is no longer the account\'s verified phone; after five wrong tries the code stops working. A code that went by email proves the email (verifiedAt). mode: cookie sets the tokens as cookies instead of returning them.',
      body: OtpVerifyBody,
      response: { 200: SignedInResponse }
    }
  }, async (request, reply) => {
    const { created: _created, ...result } = await verifySigninCode(deps, { ...otpTarget(request.body), code: request.body.code }, contextOf(request, request.body))
    return deliver(reply, request.body.mode, result)
  })

  app.post('/auth/refresh', {
    config: strictLimit,
    // A cookie-mode client may send no body at all; that means "use the cookie".
    preValidation: bodyDefaultsToEmpty,
    schema: {
      operationId: 'refreshTokens',
      tags,
      summary: 'Exchange a refresh token for new tokens; the old refresh token stops working',
      description: 'Presenting an already rotated refresh token ends the session (401 REFRESH_TOKEN_REUSED), except for the immediately previous token within a few seconds (concurrent refreshes).',
      body: RefreshBody,
      response: { 200: RefreshResponse, ...problems(401, 403) }
    }
  }, async (request, reply) => {
    const fromBody = request.body.refreshToken
    const fromCookie = fromBody === undefined ? readCookies(request.headers.cookie)[REFRESH_COOKIE] : undefined
    // The refresh cookie rides along like any cookie: same CSRF rule as other cookie requests.
    if (fromCookie !== undefined) checkCsrf(request, origins)
    if (fromCookie === undefined) return refresh(deps, fromBody)
    let tokens
    try {
      tokens = await refresh(deps, fromCookie)
    } catch (err) {
      // A refresh cookie that no longer works is dropped with the others: the browser signs in afresh.
      clearAuthCookies(reply, app.config)
      throw err
    }
    setAuthCookies(reply, app.config, tokens, readCookies(request.headers.cookie).csrf_token ?? app.random.token(24))
    return { tokenType: tokens.tokenType, expiresIn: tokens.expiresIn }
  })

  app.post('/auth/logout', {
    config: { auth: 'user' },
    schema: {
      operationId: 'signOut',
      tags,
      summary: 'End the current session',
      description: 'Its access and refresh tokens stop working at once; in cookie mode the cookies are cleared.',
      response: { 204: Type.Null() }
    }
  }, async (request, reply) => {
    await logout(deps, principalOf(request))
    clearAuthCookies(reply, app.config)
    return reply.code(204).send(null)
  })

  app.post('/auth/logout-all', {
    config: { auth: 'user' },
    schema: {
      operationId: 'signOutEverywhere',
      tags,
      summary: 'End every session of the signed-in user',
      description: 'Every device is signed out, this one included; in cookie mode the cookies are cleared.',
      response: { 204: Type.Null() }
    }
  }, async (request, reply) => {
    await logoutEverywhere(deps, principalOf(request))
    clearAuthCookies(reply, app.config)
    return reply.code(204).send(null)
  })

  app.post('/auth/password/forgot', {
    config: strictLimit,
    schema: {
      operationId: 'requestPasswordReset',
      tags,
      summary: 'Email a password reset link (202 always)',
      description: 'The answer is the same whether or not an active account has the email, so it reveals nothing; the link opens the app\'s reset page with a single-use token.',
      body: ForgotBody,
      response: { 202: Accepted }
    }
  }, async (request, reply) => {
    await forgotPassword(deps, request.body.email)
    return reply.code(202).send({ accepted: true as const })
  })

  app.post('/auth/password/reset', {
    config: strictLimit,
    schema: {
      operationId: 'resetPassword',
      tags,
      summary: 'Set a new password with the emailed token; ends every session',
      description: 'The token works once; an invalid, used or expired one is 400 INVALID_TOKEN. The reset proves the email (verifiedAt) and takes the phone off sign-in (phoneVerifiedAt null; POST /users/me/phone proves it again).',
      body: ResetBody,
      response: { 204: Type.Null() }
    }
  }, async (request, reply) => {
    await resetPassword(deps, request.body.token, request.body.password)
    return reply.code(204).send(null)
  })

  app.post('/auth/password/change', {
    config: { auth: 'user' },
    schema: {
      operationId: 'changePassword',
      tags,
      summary: 'Change (or set) the password; ends the other sessions',
      description: 'Needs a sign-in within the last 10 minutes (401 REAUTH_REQUIRED otherwise). A wrong currentPassword is 401 INVALID_CREDENTIALS.',
      body: ChangePasswordBody,
      response: { 204: Type.Null() }
    }
  }, async (request, reply) => {
    await changePassword(deps, principalOf(request), request.body)
    return reply.code(204).send(null)
  })

  app.get('/auth/me', {
    config: { auth: 'user' },
    schema: {
      operationId: 'getMe',
      tags,
      summary: 'The signed-in user with their workspaces and roles',
      description: 'What a front end needs after sign-in: the user and, for each workspace they belong to, its name, slug and their role.',
      response: { 200: MeResponse }
    }
  }, async (request) => me(deps, principalOf(request)))
}

export default auth
