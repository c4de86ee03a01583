import { randomBytes } from 'node:crypto'
import pino from 'pino'
import { connectDeps } from '../src/platform/deps.ts'
import { redisScripts } from '../src/redis-scripts.ts'
import { hashPassword } from '../src/platform/passwords.ts'
import { findUserByEmail, insertUser, normalizeEmail, setPasswordHash, setUserStatus, updateProfile } from '../src/modules/users/public.ts'
import { syncListing } from '../src/modules/products/public.ts'
import { loadDevConfig } from './lib/dev-env.ts'

// npm run admin:create -- <email> [--name "Full Name"] [--with-password]
// Creates a platform admin, or promotes an existing user, and prints how to sign in.

const args = process.argv.slice(2)
const email = args.find((a) => !a.startsWith('--') && args[args.indexOf(a) - 1] !== '--name')
const nameIndex = args.indexOf('--name')
const name = nameIndex >= 0 ? args[nameIndex + 1] : undefined
if (!email || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
  console.error('usage: npm run admin:create -- <email> [--name "Full Name"] [--with-password]')
  process.exit(2)
}

const config = loadDevConfig()
const { deps, close } = await connectDeps(config, { log: pino({ level: 'warn' }), scripts: redisScripts })
const { db } = deps
let exitCode = 0
try {
  const password = args.includes('--with-password') ? randomBytes(12).toString('base64url') : null
  const existing = await findUserByEmail(db, email)
  if (existing) {
    // Through users' own functions: live sessions learn the new type at once (admin routes
    // check it per request), and cached profile views go stale.
    await updateProfile(deps, existing.id, existing.id, { type: 'admin' })
    if (existing.status !== 'active') await setUserStatus(deps, existing.id, existing.id, 'active', syncListing)
    if (password) await setPasswordHash(deps, existing.id, await hashPassword(password))
    console.log(`${normalizeEmail(email)} is now a platform admin (was ${existing.type}).`)
  } else {
    await insertUser(db, {
      email,
      name: name ?? email.split('@')[0]!,
      type: 'admin',
      status: 'active',
      passwordHash: password ? await hashPassword(password) : null,
      verifiedAt: deps.clock.now()
    }, deps.random)
    console.log(`Created platform admin ${normalizeEmail(email)}.`)
  }
  console.log('\nSign in with a one-time code sent by email:')
  console.log(`  curl -X POST ${config.publicUrl}/auth/otp/send -H 'content-type: application/json' -d '{"email":"${normalizeEmail(email)}"}'`)
  console.log(`  curl -X POST ${config.publicUrl}/auth/otp/verify -H 'content-type: application/json' -d '{"email":"${normalizeEmail(email)}","code":"<code>"}'`)
  if (!config.smtpUrl && config.env !== 'production') console.log(`  (without SMTP_URL the email lands in ${config.mailDir})`)
  if (password) console.log(`\nOr with this password (shown once; change it after signing in): ${password}`)
} catch (err) {
  console.error(`admin:create failed: ${(err as Error).message}`)
  exitCode = 1
} finally {
  await close()
}
process.exit(exitCode)
