import { BadRequest, Conflict, TooManyRequests, Unprocessable, isUniqueViolation, retryAfter } from '../../platform/errors.ts'
import { consume, hit, type Limit } from '../../platform/limiter.ts'
import { enqueueEmail } from '../../platform/mail.ts'
import { clearTries, codeMatches, countTry, decoyHash, issueCode, type CodeKind } from '../../platform/one-time-code.ts'
import { hashPassword } from '../../platform/passwords.ts'
import { bumpProfileVersion } from '../../platform/profile-version.ts'
import { appLink } from '../../platform/public-url.ts'
import { enqueueSms, smsChannelAvailable } from '../../platform/sms.ts'
import { consumeSmsBudget, smsBudgetAllows } from '../../platform/sms-budget.ts'
import { emailPhoneAdded, findUserByEmail, insertUser, normalizeEmail, releaseVerifiedPhone, signupAccountExistsEmail, toUserView, type UserRow } from '../users/public.ts'
import { createWorkspace, type WorkspaceView } from '../workspaces/public.ts'
import { signupCodeEmail, welcomeEmail } from './emails.ts'
import {
  aliasKey, byEmailKey, CODE_COOLDOWN_MS, codesKey, cooldownKey, loadPendingSignup, pendingKey, resolveSignupId, SIGNUP_TTL_MS, startCooldown,
  storePendingSignup, type PendingSignup
} from './pending-signup.ts'
import type { SignupAccepted, SignupBody } from './schemas.ts'
import { accountSubject, phoneSubject, signIn, type SignedIn, type SignInContext } from './sign-in.ts'
import type { AuthDeps } from './tokens.ts'

// Deferred sign-up (SPEC 5.1): nothing reaches Postgres until the emailed code is confirmed
// (until then the sign-up waits in Redis: pending-signup.ts). An already-registered email goes
// through the same steps and gets the same answer; only the email it receives differs.

/** Codes per sign-up (the first and four more): asking for another burns the sign-up. */
const CODES_PER_SIGNUP = 5
const SIGNUPS_PER_EMAIL: Limit = { name: 'signup', max: 10, windowMs: 3600_000 }
// Like one-time sign-in codes: new codes and tries are capped per email per hour, whichever
// sign-up (or resumed id) they go through.
const RESENDS_PER_EMAIL: Limit = { name: 'signup-resend', max: 6, windowMs: 3600_000 }
const TRIES_PER_EMAIL: Limit = { name: 'signup-tries', max: 10, windowMs: 3600_000 }
// Sign-ups verified by SMS text a number of the caller's choosing: capped per number too (and
// per client, with every other text: sms-budget.ts).
const SIGNUP_SMS_PER_PHONE: Limit = { name: 'signup-sms', max: 6, windowMs: 3600_000 }
/** Five wrong tries on a sign-up's current code (subject: the sign-up id) burn it; a new code starts afresh. */
const SIGNUP_CODE: CodeKind = { purpose: 'signup', tries: { name: 'signup-code-tries', max: 5, windowMs: SIGNUP_TTL_MS } }

/** Emails the sign-up's next code (or, for a registered email, says so); `linkId` goes in the link. */
async function sendCode (deps: AuthDeps, id: string, pending: PendingSignup, linkId = id): Promise<PendingSignup> {
  const minutes = Math.round((pending.expiresAt - deps.clock.now().getTime()) / 60_000)
  if (pending.verifyBy === 'sms') {
    // The phone gets a code either way, so the phone's holder cannot tell a registered email
    // from a new one by whether a text arrives; a registered email's owner is told by email,
    // and its code (a decoy's) never completes the sign-up.
    if (pending.accountExists) await enqueueAccountExists(deps, pending)
    const { code, hash } = pending.accountExists
      ? { code: deps.random.digits(6), hash: decoyHash(deps, SIGNUP_CODE, id) }
      : issueCode(deps, SIGNUP_CODE, id)
    await enqueueSms(deps, 'signup-code', { to: pending.phone!, text: `Your Bazaar sign-up code is ${code}. It expires in ${minutes} minutes.` })
    return { ...pending, codeHash: hash }
  }
  if (pending.accountExists) {
    await enqueueAccountExists(deps, pending)
    // A code no one is sent (and that never completes: accountExists), so that wrong codes are
    // answered as for an unknown email: INVALID_CODE, then CODE_BURNT after five, not at once.
    return { ...pending, codeHash: decoyHash(deps, SIGNUP_CODE, id) }
  }
  const { code, hash } = issueCode(deps, SIGNUP_CODE, id)
  await enqueueEmail(deps, signupCodeEmail, pending.email, {
    name: pending.name,
    code,
    link: appLink(deps.config, `/sign-up/verify?signupId=${linkId}&code=${code}`),
    minutes
  })
  return { ...pending, codeHash: hash }
}

async function enqueueAccountExists (deps: AuthDeps, pending: PendingSignup): Promise<void> {
  await enqueueEmail(deps, signupAccountExistsEmail, pending.email, {
    name: pending.name,
    signInLink: appLink(deps.config, '/sign-in'),
    resetLink: appLink(deps.config, '/forgot-password')
  })
}

/** A sign-up by SMS needs a phone and a way to text it; its number's and client's hourly caps are counted here (429 past either). */
async function checkSmsSignup (deps: AuthDeps, input: SignupBody, ip: string): Promise<void> {
  if (input.phone === undefined) throw BadRequest('VALIDATION_FAILED', 'body/phone is required with verifyBy: sms', { field: '/body/phone', fieldDetail: 'is required with verifyBy: sms' })
  if (!smsChannelAvailable(deps.config)) {
    throw Unprocessable('CHANNEL_UNAVAILABLE', 'Sign-up by SMS is not available here; use email.', { field: '/body/verifyBy', fieldDetail: 'sms is not configured' })
  }
  await consume(deps.redis, SIGNUP_SMS_PER_PHONE, phoneSubject(deps, input.phone))
  await consumeSmsBudget(deps, ip)
}

export async function startSignup (deps: AuthDeps, input: SignupBody, ip: string): Promise<SignupAccepted> {
  if (input.verifyBy === 'sms') await checkSmsSignup(deps, input, ip)
  const email = normalizeEmail(input.email)
  const subject = accountSubject(deps, email)
  const { count, resetMs } = await hit(deps.redis, SIGNUPS_PER_EMAIL, subject)
  if (count > SIGNUPS_PER_EMAIL.max) {
    const wait = Math.ceil(resetMs / 1000)
    throw TooManyRequests('RATE_LIMITED', `Too many attempts; retry in ${wait} s.`, { headers: retryAfter(wait) })
  }

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
    verifyBy: input.verifyBy ?? 'email',
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
    await clearTries(deps.redis, SIGNUP_CODE, previous)
  }
  await deps.redis.multi()
    .set(codesKey(id), 1, 'PX', SIGNUP_TTL_MS)
    .set(cooldownKey(id), '1', 'PX', CODE_COOLDOWN_MS)
    .exec()
  await storePendingSignup(deps, id, pending)
  return { signupId: id, expiresAt: new Date(pending.expiresAt) }
}

type CodeOutcome = 'sent' | 'skipped'

/**
 * Sends a sign-up its next code, within its caps: the caller has passed the cooldown; past five
 * codes the sign-up burns, and past the hourly resends of its email nothing is sent. Each cap
 * is counted before it is judged (INCR, then compare), so parallel requests cannot overrun it.
 */
async function nextCode (deps: AuthDeps, id: string, pending: PendingSignup, linkId: string, ip: string, changes: Partial<PendingSignup> = {}): Promise<CodeOutcome> {
  const codes = await deps.redis.incr(codesKey(id))
  await deps.redis.pexpire(codesKey(id), SIGNUP_TTL_MS)
  if (codes > CODES_PER_SIGNUP) {
    await storePendingSignup(deps, id, { ...pending, codeHash: null, burnt: true })
    return 'skipped'
  }
  if ((await hit(deps.redis, RESENDS_PER_EMAIL, accountSubject(deps, pending.email))).count > RESENDS_PER_EMAIL.max) return 'skipped'
  if (pending.verifyBy === 'sms' && (await hit(deps.redis, SIGNUP_SMS_PER_PHONE, phoneSubject(deps, pending.phone!))).count > SIGNUP_SMS_PER_PHONE.max) return 'skipped'
  if (pending.verifyBy === 'sms' && !await smsBudgetAllows(deps, ip)) return 'skipped'
  const next = await sendCode(deps, id, { ...pending, ...changes }, linkId)
  // Only now does the new code replace the old: a send that failed leaves its tries counted.
  await clearTries(deps.redis, SIGNUP_CODE, id)
  await storePendingSignup(deps, id, next)
  return 'sent'
}

/**
 * A fresh code for the sign-up the caller holds the id of (its own, or one resume handed out),
 * at most one a minute (429 otherwise, for any id alike); a code sent gives the sign-up 24 h
 * more. Nothing tells whether the id is real, burnt or capped: each answers 202, the same way.
 */
export async function resendSignupCode (deps: AuthDeps, signupId: string, ip: string): Promise<SignupAccepted> {
  const id = await resolveSignupId(deps, signupId)
  if (!await startCooldown(deps, id)) {
    const wait = Math.max(1, Math.ceil(await deps.redis.pttl(cooldownKey(id)) / 1000))
    throw TooManyRequests('RATE_LIMITED', `A code was sent less than a minute ago; retry in ${wait} s.`, { headers: retryAfter(wait) })
  }
  const expiresAt = deps.clock.now().getTime() + SIGNUP_TTL_MS
  const pending = await loadPendingSignup(deps, id)
  if (pending && !pending.burnt) await nextCode(deps, id, pending, signupId, ip, { expiresAt })
  return { signupId, expiresAt: new Date(expiresAt) }
}

/**
 * Resume by email (anyone can type one): emails a fresh code for the email's unfinished
 * sign-up and answers with a fresh id standing for it, never the sign-up's own id. The answer
 * is the same whether a sign-up exists, is burnt or capped, or the email is unknown: a new
 * id every time, valid 24 h (like any code sent, a resumed one gives the sign-up 24 h more), and
 * within the minute the id answers an early resend with 429 as a real one does.
 */
export async function resumeSignup (deps: AuthDeps, email: string, ip: string): Promise<SignupAccepted> {
  const fresh = deps.random.uuid()
  const expiresAt = deps.clock.now().getTime() + SIGNUP_TTL_MS
  const id = await deps.redis.get(byEmailKey(accountSubject(deps, email)))
  const pending = id ? await loadPendingSignup(deps, id) : null
  let sent = false
  if (id && pending && !pending.burnt && await startCooldown(deps, id)) {
    // The alias exists before the mail with its link goes out.
    await deps.redis.set(aliasKey(fresh), id, 'PX', SIGNUP_TTL_MS)
    sent = await nextCode(deps, id, pending, fresh, ip, { expiresAt }) === 'sent'
    if (!sent) await deps.redis.del(aliasKey(fresh))
  }
  // An id that stands for nothing still answers an early resend as a real one does.
  if (!sent) await deps.redis.set(cooldownKey(fresh), '1', 'PX', CODE_COOLDOWN_MS)
  return { signupId: fresh, expiresAt: new Date(expiresAt) }
}

// One answer for a wrong code, whether the id is real, resumed or made up.
const invalidCode = () =>
  BadRequest('INVALID_CODE', 'The code is wrong or has expired.', { field: '/body/code', fieldDetail: 'is wrong or has expired' })
const codeBurnt = () =>
  BadRequest('CODE_BURNT', 'Too many wrong codes: request a new code (or, if none arrives, start the sign-up again).', { field: '/body/code', fieldDetail: 'too many wrong attempts; request a new code' })

export interface SignedUp extends SignedIn { workspace: WorkspaceView | null }

export async function verifySignup (deps: AuthDeps, input: { signupId: string, code: string }, context: SignInContext): Promise<SignedUp> {
  const id = await resolveSignupId(deps, input.signupId)
  // Counted before anything is judged, atomically, so parallel guesses cannot exceed the budget.
  const withinTries = await countTry(deps.redis, SIGNUP_CODE, id)
  const pending = await loadPendingSignup(deps, id)
  if (!pending) throw withinTries ? invalidCode() : codeBurnt()
  // Only tries that would be judged count against the email's hourly budget.
  const { codeHash: expected } = pending
  if (!withinTries || expected === null ||
    (await hit(deps.redis, TRIES_PER_EMAIL, accountSubject(deps, pending.email))).count > TRIES_PER_EMAIL.max) {
    if (expected !== null) await storePendingSignup(deps, id, { ...pending, codeHash: null })
    throw codeBurnt()
  }
  if (pending.accountExists || !codeMatches(deps.sealer, SIGNUP_CODE, id, input.code, expected)) throw invalidCode()

  const now = deps.clock.now()
  let created: { user: UserRow, workspace: WorkspaceView | null }
  let released: string[] = []
  try {
    // The user, and the workspace a vendor or a named workspace asks for, in one transaction.
    created = await deps.db.transaction().execute(async (trx) => {
      // A code by SMS proved the phone: it becomes this account's verified phone, and no other's.
      const phoneVerified = pending.verifyBy === 'sms' && pending.phone !== null
      released = phoneVerified ? await releaseVerifiedPhone(trx, pending.phone!, now) : []
      const user = await insertUser(trx, {
        email: pending.email,
        name: pending.name,
        type: pending.type,
        status: 'active',
        passwordHash: pending.passwordHash,
        phone: pending.phone,
        phoneVerifiedAt: phoneVerified ? now : null,
        // A code by SMS proved the phone, not the email: it is proved by email later (an emailed
        // sign-in code, a reset, an email change), and until then its owner can reset the phone away.
        verifiedAt: phoneVerified ? null : now
      }, deps.random)
      const wantsWorkspace = pending.workspaceName !== null || pending.type === 'vendor'
      const workspace = wantsWorkspace ? await createWorkspace(trx, { name: pending.workspaceName ?? `${pending.name}'s store`, ownerId: user.id }, deps.random) : null
      return { user, workspace }
    })
  } catch (err) {
    if (isUniqueViolation(err, 'users_email_live')) throw Conflict('EMAIL_TAKEN', 'An account with this email was created meanwhile; sign in instead.')
    throw err
  }
  // Two commands sent together: the email's index is in another slot than the sign-up's keys.
  await Promise.all([
    deps.redis.del(pendingKey(id), codesKey(id), cooldownKey(id)),
    deps.redis.del(byEmailKey(accountSubject(deps, pending.email)))
  ])
  await clearTries(deps.redis, SIGNUP_CODE, id)
  for (const userId of released) await bumpProfileVersion(deps, userId)
  const signedIn = await signIn(deps, created.user, 'signup', { ...context, analytics: context.analytics ?? pending.analytics ?? undefined }, created.workspace?.id ?? null)
  await enqueueEmail(deps, welcomeEmail, created.user.email, { name: created.user.name, appLink: appLink(deps.config, '') })
  if (created.user.phoneVerifiedAt !== null) await emailPhoneAdded(deps, created.user)
  return { ...signedIn, user: toUserView(created.user), workspace: created.workspace }
}
