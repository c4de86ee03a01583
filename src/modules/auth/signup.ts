import { sameDigest } from '../../platform/crypto.ts'
import { AppError, Conflict, TooManyRequests } from '../../platform/errors.ts'
import { hit, reset, type Limit } from '../../platform/limiter.ts'
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
/** Wrong codes per code: then it burns and a new one must be asked for. */
const MAX_ATTEMPTS = 5
/** Codes per sign-up (the first and four more): asking for another burns the sign-up. */
const CODES_PER_SIGNUP = 5
const SIGNUPS_PER_EMAIL: Limit = { name: 'signup', max: 10, windowMs: 3600_000 }
// Like one-time sign-in codes: new codes and tries are capped per email per hour, whichever
// sign-up (or resumed id) they go through.
const RESENDS_PER_EMAIL: Limit = { name: 'signup-resend', max: 6, windowMs: 3600_000 }
const TRIES_PER_EMAIL: Limit = { name: 'signup-tries', max: 10, windowMs: 3600_000 }
/** Tries on a sign-up's current code (subject: the sign-up id), cleared when a new code is sent. */
const CODE_TRIES: Limit = { name: 'signup-code-tries', max: MAX_ATTEMPTS, windowMs: SIGNUP_TTL_MS }

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
  /** Too many codes: nothing completes this sign-up any more; it must be started again. */
  burnt?: boolean
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
const codesKey = (id: string) => `signup:${id}:codes`
const cooldownKey = (id: string) => `signup:${id}:cooldown`
const byEmailKey = (subject: string) => `signup:email:${subject}`
/** A fresh id handed out by resume, standing for the sign-up's own id (which is never revealed). */
const aliasKey = (id: string) => `signup:alias:${id}`
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

/** Emails the sign-up's next code (or, for a registered email, says so); `linkId` goes in the link. */
async function sendCode (deps: AuthDeps, id: string, pending: PendingSignup, linkId = id): Promise<PendingSignup> {
  if (pending.accountExists) {
    await enqueueEmail(deps, 'signup-account-exists', pending.email, {
      name: pending.name,
      signInLink: `${deps.config.publicUrl}/sign-in`,
      resetLink: `${deps.config.publicUrl}/forgot-password`
    })
    // A code no one is sent (and that never completes: accountExists), so that wrong codes are
    // answered as for an unknown email: INVALID_CODE, then CODE_BURNT after five, not at once.
    return { ...pending, codeHash: codeHash(deps, id, deps.random.token(16)) }
  }
  const code = deps.random.digits(6)
  await enqueueEmail(deps, 'signup-code', pending.email, {
    name: pending.name,
    code,
    link: `${deps.config.publicUrl}/sign-up/verify?signupId=${linkId}&code=${code}`,
    minutes: Math.round((pending.expiresAt - deps.clock.now().getTime()) / 60_000)
  })
  return { ...pending, codeHash: codeHash(deps, id, code) }
}

/** The sign-up an id stands for: itself, or the one a resumed id was handed out for. */
async function resolveId (deps: AuthDeps, id: string): Promise<string> {
  return (await deps.redis.get(aliasKey(id))) ?? id
}

/** Starts a sign-up's one-minute cooldown between codes; false when one is running. */
async function startCooldown (deps: AuthDeps, id: string): Promise<boolean> {
  return await deps.redis.set(cooldownKey(id), '1', 'PX', CODE_COOLDOWN_MS, 'NX') === 'OK'
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
    expiresAt: now + SIGNUP_TTL_MS
  }
  pending = await sendCode(deps, id, pending)
  // One unfinished sign-up per email: a new one replaces the previous.
  const previous = await deps.redis.getset(byEmailKey(subject), id)
  await deps.redis.pexpire(byEmailKey(subject), SIGNUP_TTL_MS)
  if (previous) {
    await deps.redis.del(pendingKey(previous), codesKey(previous), cooldownKey(previous))
    await reset(deps.redis, CODE_TRIES, previous)
  }
  await deps.redis.multi()
    .set(codesKey(id), 1, 'PX', SIGNUP_TTL_MS)
    .set(cooldownKey(id), '1', 'PX', CODE_COOLDOWN_MS)
    .exec()
  await store(deps, id, pending)
  return { signupId: id, expiresAt: new Date(pending.expiresAt) }
}

type CodeOutcome = 'sent' | 'skipped'

/**
 * Sends a sign-up its next code, within its caps: the caller has passed the cooldown; past five
 * codes the sign-up burns, and past the hourly resends of its email nothing is sent. Each cap
 * is counted before it is judged (INCR, then compare), so parallel requests cannot overrun it.
 */
async function nextCode (deps: AuthDeps, id: string, pending: PendingSignup, linkId: string, changes: Partial<PendingSignup> = {}): Promise<CodeOutcome> {
  const codes = await deps.redis.incr(codesKey(id))
  await deps.redis.pexpire(codesKey(id), SIGNUP_TTL_MS)
  if (codes > CODES_PER_SIGNUP) {
    await store(deps, id, { ...pending, codeHash: null, burnt: true })
    return 'skipped'
  }
  if ((await hit(deps.redis, RESENDS_PER_EMAIL, accountSubject(deps, pending.email))).count > RESENDS_PER_EMAIL.max) return 'skipped'
  const next = await sendCode(deps, id, { ...pending, ...changes }, linkId)
  await reset(deps.redis, CODE_TRIES, id)
  await store(deps, id, next)
  return 'sent'
}

/**
 * A fresh code for the sign-up the caller holds the id of (its own, or one resume handed out),
 * at most one a minute (429 otherwise, for any id alike); a code sent gives the sign-up 24 h
 * more. Nothing tells whether the id is real, burnt or capped: each answers 202, the same way.
 */
export async function resendSignupCode (deps: AuthDeps, signupId: string): Promise<SignupAccepted> {
  const id = await resolveId(deps, signupId)
  if (!await startCooldown(deps, id)) {
    const wait = Math.max(1, Math.ceil(await deps.redis.pttl(cooldownKey(id)) / 1000))
    throw TooManyRequests(wait, `A code was sent less than a minute ago; retry in ${wait} s.`)
  }
  const expiresAt = deps.clock.now().getTime() + SIGNUP_TTL_MS
  const pending = await load(deps, id)
  if (pending && !pending.burnt) await nextCode(deps, id, pending, signupId, { expiresAt })
  return { signupId, expiresAt: new Date(expiresAt) }
}

/**
 * Resume by email (anyone can type one): emails a fresh code for the email's unfinished
 * sign-up and answers with a fresh id standing for it, never the sign-up's own id. The answer
 * is the same whether a sign-up exists, is burnt or capped, or the email is unknown: a new
 * id every time, valid 24 h (like any code sent, a resumed one gives the sign-up 24 h more), and
 * within the minute the id answers an early resend with 429 as a real one does.
 */
export async function resumeSignup (deps: AuthDeps, email: string): Promise<SignupAccepted> {
  const fresh = deps.random.uuid()
  const expiresAt = deps.clock.now().getTime() + SIGNUP_TTL_MS
  const id = await deps.redis.get(byEmailKey(accountSubject(deps, email)))
  const pending = id ? await load(deps, id) : null
  let sent = false
  if (id && pending && !pending.burnt && await startCooldown(deps, id)) {
    // The alias exists before the mail with its link goes out.
    await deps.redis.set(aliasKey(fresh), id, 'PX', SIGNUP_TTL_MS)
    sent = await nextCode(deps, id, pending, fresh, { expiresAt }) === 'sent'
    if (!sent) await deps.redis.del(aliasKey(fresh))
  }
  // An id that stands for nothing still answers an early resend as a real one does.
  if (!sent) await deps.redis.set(cooldownKey(fresh), '1', 'PX', CODE_COOLDOWN_MS)
  return { signupId: fresh, expiresAt: new Date(expiresAt) }
}

// One answer for a wrong code, whether the id is real, resumed or made up.
const invalidCode = () =>
  new AppError(400, 'INVALID_CODE', 'The code is wrong or has expired.', { errors: [{ pointer: '/body/code', detail: 'is wrong or has expired' }] })
const codeBurnt = () =>
  new AppError(400, 'CODE_BURNT', 'Too many wrong codes: request a new code (or, if none arrives, start the sign-up again).', { errors: [{ pointer: '/body/code', detail: 'too many wrong attempts; request a new code' }] })

export interface SignupCompleted extends SignedIn { workspace: WorkspaceView | null }

export async function verifySignup (deps: AuthDeps, input: { signupId: string, code: string }, context: SignInContext): Promise<SignupCompleted & { user: UserView }> {
  const id = await resolveId(deps, input.signupId)
  // Counted before anything is judged, atomically, so parallel guesses cannot exceed the budget.
  const { count: attempts } = await hit(deps.redis, CODE_TRIES, id)
  const pending = await load(deps, id)
  if (!pending) throw attempts > MAX_ATTEMPTS ? codeBurnt() : invalidCode()
  // Only tries that would be judged count against the email's hourly budget.
  const { codeHash: expected } = pending
  if (attempts > MAX_ATTEMPTS || expected === null ||
    (await hit(deps.redis, TRIES_PER_EMAIL, accountSubject(deps, pending.email))).count > TRIES_PER_EMAIL.max) {
    if (expected !== null) await store(deps, id, { ...pending, codeHash: null })
    throw codeBurnt()
  }
  if (pending.accountExists || !sameDigest(codeHash(deps, id, input.code), expected)) throw invalidCode()

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
  await deps.redis.del(pendingKey(id), codesKey(id), cooldownKey(id), byEmailKey(accountSubject(deps, pending.email)))
  await reset(deps.redis, CODE_TRIES, id)
  const signedIn = await signIn(deps, created.user, 'signup', { ...context, analytics: context.analytics ?? pending.analytics ?? undefined }, created.workspace?.id ?? null)
  await enqueueEmail(deps, 'welcome', created.user.email, { name: created.user.name, appLink: deps.config.publicUrl })
  return { ...signedIn, user: toUserView(created.user), workspace: created.workspace }
}
