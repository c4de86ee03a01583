import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { randomBytes } from 'node:crypto'
import { hashPassword } from '../../src/platform/passwords.ts'
import { insertUser, type NewUser, type UserRow } from '../../src/modules/users/public.ts'
import type { TestEnv } from './app.ts'
import type { ReceivedMail } from './smtp.ts'

// Users for tests. `createUser` writes the row directly (a fixture, like the seed); sign-ins
// go through the real HTTP routes.

export const PASSWORD = 'correct horse battery staple'

export function uniqueEmail (label = 'user'): string {
  return `${label}-${randomBytes(4).toString('hex')}@example.test`
}

// argon2 is slow on purpose: the shared test password is hashed once per process.
let passwordHash: Promise<string> | undefined
const hashOf = (password: string) => password === PASSWORD ? (passwordHash ??= hashPassword(PASSWORD)) : hashPassword(password)

export async function createUser (env: TestEnv, fields: Partial<NewUser> & { password?: string | null } = {}): Promise<UserRow & { password: string | null }> {
  const password = fields.password === undefined ? PASSWORD : fields.password
  const user = await insertUser(env.app.db, {
    email: fields.email ?? uniqueEmail(fields.type ?? 'user'),
    name: fields.name ?? 'Test User',
    type: fields.type ?? 'customer',
    status: fields.status ?? 'active',
    passwordHash: password ? await hashOf(password) : null,
    phone: fields.phone ?? null,
    phoneVerifiedAt: fields.phoneVerifiedAt ?? null,
    verifiedAt: new Date()
  }, env.app.random)
  return { ...user, password }
}

export interface SignedIn {
  accessToken: string
  refreshToken: string
  sessionId: string
  userId: string
  headers: { authorization: string }
  body: any
}

export async function login (app: FastifyInstance, email: string, password = PASSWORD, extra: { headers?: Record<string, string>, analytics?: Record<string, unknown>, remoteAddress?: string } = {}): Promise<SignedIn> {
  const res = await app.inject({
    method: 'POST',
    url: '/auth/login',
    headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', ...extra.headers },
    remoteAddress: extra.remoteAddress ?? `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${randomBytes(1)[0]}`,
    payload: { email, password, ...(extra.analytics ? { analytics: extra.analytics } : {}) }
  })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  return signedIn(res)
}

export function signedIn (res: LightMyRequestResponse): SignedIn {
  const body = res.json()
  return {
    accessToken: body.tokens.accessToken,
    refreshToken: body.tokens.refreshToken,
    sessionId: body.session.id,
    userId: body.user.id,
    headers: { authorization: `Bearer ${body.tokens.accessToken}` },
    body
  }
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** The 6-digit code in a received email (text part), checking the HTML part carries it too. */
export function codeFrom (mail: ReceivedMail): string {
  const code = /\b(\d{6})\b/.exec(mail.text)?.[1]
  if (!code) throw new Error(`no code in mail "${mail.subject}"`)
  if (!mail.html.includes(code)) throw new Error('the HTML part lacks the code')
  return code
}

export function cookiesOf (res: LightMyRequestResponse): Record<string, { value: string, httpOnly?: boolean, sameSite?: string, secure?: boolean, path?: string }> {
  return Object.fromEntries(res.cookies.map((c) => [c.name, c]))
}
