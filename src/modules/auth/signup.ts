import { sameDigest } from '../../platform/crypto.ts'
import { AppError, Conflict, TooManyRequests } from '../../platform/errors.ts'
import { hit, type Limit } from '../../platform/limiter.ts'
import { enqueueEmail } from '../../emails.ts'
import { findUserByEmail, insertUser, normalizeEmail, toUserView, type UserView } from '../users/service.ts'
import { createWorkspace, type WorkspaceView } from '../workspaces/service.ts'
import type { Analytics } from '../sessions/service.ts'
import { hashPassword } from './passwords.ts'
import { accountSubject, signIn, type AuthDeps, type SignedIn, type SignInContext } from './service.ts'

// Deferred sign-up (SPEC 5.1): nothing reaches Postgres until the emailed code is confirmed.
// The pending sign-up is one sealed value in Redis (AES-256-GCM; a password only as its
// argon2id hash) under a random id, with a 24 h TTL. An already-registered email goes through
// the same steps and gets the same answer; only the email it receives differs.

export const SIGNUP_TTL_MS = 24 * 3600_000
const CODE_COOLDOWN_MS = 60_000
const MAX_ATTEMPTS = 5
const SIGNUPS_PER_EMAIL: Limit = { name: 'signup', max: 10, windowMs: 3600_000 }

interface PendingSignup {
  email: string
  name: string
  passwordHash: string | null
  type: 'customer' | 'vendor'
  workspaceName: string | null
  phone: string | null
  analytics: Analytics | null
  /** The email already has an account: it is told so, and no code can complete this sign-up. */
  accountExists: boolean
  /** Keyed hash of `<id>:<code>`; null once burnt. */
  codeHash: string | null
  codeIssuedAt: number
  expiresAt: number
}

export interface SignupInput {
  email: string
  name: string
  password?: string
  type?: 'customer' | 'vendor'
  workspaceName?: string
  phone?: string
  analytics?: Analytics
}

export interface SignupAccepted { signupId: string, expiresAt: Date }

const pendingKey = (id: string) => `signup:${id}`
const attemptsKey = (id: string) => `signup:${id}:tries`
const byEmailKey = (subject: string) => `signup:email:${subject}`
const sealContext = (id: string) => `signup:${id}`

function codeHash (deps: AuthDeps, id: string, code: string): string {
  return deps.sealer.secretHash(`signup:${id}:${code}`)
}

async function load (deps: AuthDeps, id: string): Promise<PendingSignup | null> {
  const sealed = await deps.redis.get(pendingKey(id))
  if (!sealed) return null
  try {
    return deps.sealer.open<PendingSignup>(sealed, sealContext(id))
  } catch {
    // Tampered with, or sealed under another key: as good as absent.
    return null
  }
}

async function store (deps: AuthDeps, id: string, pending: PendingSignup): Promise<void> {
  const ttl = Math.max(1000, pending.expiresAt - deps.clock.now().getTime())
  await deps.redis.set(pendingKey(id), deps.sealer.seal(pending, sealContext(id)), 'PX', ttl)
}

async function sendCode (deps: AuthDeps, id: string, pending: PendingSignup): Promise<PendingSignup> {
  if (pending.accountExists) {
    await enqueueEmail(deps, 'signup-account-exists', pending.email, {
      name: pending.name,
      signInLink: `${deps.config.publicUrl}/sign-in`,
      resetLink: `${deps.config.publicUrl}/forgot-password`
    })
    return { ...pending, codeIssuedAt: deps.clock.now().getTime() }
  }
  const code = deps.random.digits(6)
  await enqueueEmail(deps, 'signup-code', pending.email, {
    name: pending.name,
    code,
    link: `${deps.config.publicUrl}/sign-up/verify?signupId=${id}&code=${code}`,
    minutes: Math.round((pending.expiresAt - deps.clock.now().getTime()) / 60_000)
  })
  return { ...pending, codeHash: codeHash(deps, id, code), codeIssuedAt: deps.clock.now().getTime() }
}

export async function startSignup (deps: AuthDeps, input: SignupInput): Promise<SignupAccepted> {
  const email = normalizeEmail(input.email)
  const subject = accountSubject(deps, email)
  const { count, resetMs } = await hit(deps.redis, SIGNUPS_PER_EMAIL, subject)
  if (count > SIGNUPS_PER_EMAIL.max) throw TooManyRequests(Math.ceil(resetMs / 1000))

  // Same work for both branches (lookup, hash, seal, enqueue), so neither timing nor answer
  // tells whether the email is registered.
  const [existing, passwordHash] = await Promise.all([
    findUserByEmail(deps.db, email),
    input.password ? hashPassword(input.password) : Promise.resolve(null)
  ])
  const id = deps.random.uuid()
  const now = deps.clock.now().getTime()
  let pending: PendingSignup = {
    email,
    name: existing?.name ?? input.name,
    passwordHash,
    type: input.type ?? 'customer',
    workspaceName: input.workspaceName ?? null,
    phone: input.phone ?? null,
    analytics: input.analytics ?? null,
    accountExists: existing !== undefined,
    codeHash: null,
    codeIssuedAt: now,
    expiresAt: now + SIGNUP_TTL_MS
  }
  pending = await sendCode(deps, id, pending)
  // One unfinished sign-up per email: a new one replaces the previous.
  const previous = await deps.redis.getset(byEmailKey(subject), id)
  await deps.redis.pexpire(byEmailKey(subject), SIGNUP_TTL_MS)
  if (previous) await deps.redis.del(pendingKey(previous), attemptsKey(previous))
  await store(deps, id, pending)
  return { signupId: id, expiresAt: new Date(pending.expiresAt) }
}

/**
 * A fresh code for an unfinished sign-up, at most one per minute. By email the answer is the
 * same whether or not a sign-up exists (a stand-in id when none does).
 */
export async function resendSignupCode (deps: AuthDeps, target: { signupId: string } | { email: string }): Promise<SignupAccepted> {
  const now = deps.clock.now().getTime()
  const byEmail = 'email' in target
  const id = byEmail ? await deps.redis.get(byEmailKey(accountSubject(deps, target.email))) : target.signupId
  const pending = id ? await load(deps, id) : null
  if (!id || !pending) {
    return { signupId: byEmail ? deps.random.uuid() : target.signupId, expiresAt: new Date(now + SIGNUP_TTL_MS) }
  }
  const wait = pending.codeIssuedAt + CODE_COOLDOWN_MS - now
  if (wait > 0) {
    if (byEmail) return { signupId: id, expiresAt: new Date(pending.expiresAt) }
    throw TooManyRequests(Math.ceil(wait / 1000), `A code was sent less than a minute ago; retry in ${Math.ceil(wait / 1000)} s.`)
  }
  const next = await sendCode(deps, id, pending)
  await deps.redis.del(attemptsKey(id))
  await store(deps, id, next)
  return { signupId: id, expiresAt: new Date(pending.expiresAt) }
}

const invalidCode = (detail = 'The code is wrong or has expired.') =>
  new AppError(400, 'INVALID_CODE', detail, { errors: [{ pointer: '/body/code', detail: 'is wrong or has expired' }] })

export interface SignupCompleted extends SignedIn { workspace: WorkspaceView | null }

export async function verifySignup (deps: AuthDeps, input: { signupId: string, code: string }, context: SignInContext): Promise<SignupCompleted & { user: UserView }> {
  // Counted before anything else, atomically, so parallel guesses cannot exceed the budget.
  const attempts = await deps.redis.incr(attemptsKey(input.signupId))
  if (attempts === 1) await deps.redis.pexpire(attemptsKey(input.signupId), SIGNUP_TTL_MS)
  const pending = await load(deps, input.signupId)
  if (!pending) throw invalidCode()
  if (attempts > MAX_ATTEMPTS || pending.codeHash === null) {
    if (pending.codeHash !== null) await store(deps, input.signupId, { ...pending, codeHash: null })
    throw new AppError(400, 'CODE_BURNT', 'Too many wrong codes: request a new code.', { errors: [{ pointer: '/body/code', detail: 'too many wrong attempts; request a new code' }] })
  }
  if (pending.accountExists || !sameDigest(codeHash(deps, input.signupId, input.code), pending.codeHash)) {
    throw invalidCode(`The code is wrong. ${Math.max(0, MAX_ATTEMPTS - attempts)} attempts left.`)
  }

  const now = deps.clock.now()
  let created: { user: Awaited<ReturnType<typeof insertUser>>, workspace: WorkspaceView | null }
  try {
    // The user, and the workspace a vendor or a named workspace asks for, in one transaction.
    created = await deps.db.transaction().execute(async (trx) => {
      const user = await insertUser(trx, {
        email: pending.email,
        name: pending.name,
        type: pending.type,
        status: 'active',
        passwordHash: pending.passwordHash,
        phone: pending.phone,
        verifiedAt: now
      })
      const wantsWorkspace = pending.workspaceName !== null || pending.type === 'vendor'
      const workspace = wantsWorkspace ? await createWorkspace(trx, { name: pending.workspaceName ?? `${pending.name}'s store`, ownerId: user.id }) : null
      return { user, workspace }
    })
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw Conflict('EMAIL_TAKEN', 'An account with this email was created meanwhile; sign in instead.')
    throw err
  }
  await deps.redis.del(pendingKey(input.signupId), attemptsKey(input.signupId), byEmailKey(accountSubject(deps, pending.email)))
  const signedIn = await signIn(deps, created.user, 'signup', { ...context, analytics: context.analytics ?? pending.analytics ?? undefined }, created.workspace?.id ?? null)
  await enqueueEmail(deps, 'welcome', created.user.email, { name: created.user.name, appLink: deps.config.publicUrl })
  return { ...signedIn, user: toUserView(created.user), workspace: created.workspace }
}
