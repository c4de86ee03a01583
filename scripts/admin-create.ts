import { randomBytes } from 'node:crypto'
import { loadConfigOrExit } from '../src/config.ts'
import pino from 'pino'
import type { FastifyBaseLogger } from 'fastify'
import { connectDeps } from '../src/platform/deps.ts'
import { redisScripts } from '../src/redis-scripts.ts'
import { hashPassword } from '../src/modules/auth/passwords.ts'
import { findUserByEmail, insertUser, normalizeEmail, setPasswordHash } from '../src/modules/users/service.ts'
import { bumpProfileVersion, updateSessionsUserType } from '../src/modules/sessions/service.ts'

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

const config = loadConfigOrExit()
const { deps, close } = await connectDeps(config, { log: pino({ level: 'warn' }) as unknown as FastifyBaseLogger, scripts: redisScripts })
const { db, redis } = deps
let exitCode = 0
try {
  const password = args.includes('--with-password') ? randomBytes(12).toString('base64url') : null
  const existing = await findUserByEmail(db, email)
  if (existing) {
    await db.updateTable('users').set({ type: 'admin', status: 'active', updatedAt: new Date() }).where('id', '=', existing.id).execute()
    if (password) await setPasswordHash({ db, redis }, existing.id, await hashPassword(password))
    // Live sessions learn the new type at once (admin routes check it per request).
    await updateSessionsUserType({ redis }, existing.id, 'admin')
    await bumpProfileVersion({ redis }, existing.id)
    console.log(`${normalizeEmail(email)} is now a platform admin (was ${existing.type}).`)
  } else {
    await insertUser(db, {
      email,
      name: name ?? email.split('@')[0]!,
      type: 'admin',
      status: 'active',
      passwordHash: password ? await hashPassword(password) : null,
      verifiedAt: new Date()
    })
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
