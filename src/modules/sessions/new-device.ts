import type { Deps } from '../../platform/deps.ts'
import type { Queryable } from '../../platform/db.ts'
import { enqueueEmail } from '../../platform/mail.ts'
import { appLink } from '../../platform/public-url.ts'
import { newSigninEmail } from './emails.ts'
import type { SessionView } from './schemas.ts'

// A sign-in from a device the account has never used is told to the account holder, so a
// stolen password shows up in their inbox.

export async function hasSeenDevice (db: Queryable, userId: string, fingerprint: string): Promise<boolean> {
  const row = await db.selectFrom('sessions').select('id').where('userId', '=', userId).where('deviceFingerprint', '=', fingerprint).limit(1).executeTakeFirst()
  return row !== undefined
}

/** Emails the account holder that `session` signed in from a new device. */
export async function emailNewSignin (deps: Deps, to: { email: string, name: string }, session: SessionView): Promise<void> {
  const device = [session.browser, session.os && `on ${session.os}`, session.deviceName && `(${session.deviceName})`].filter(Boolean).join(' ') || 'an unknown device'
  const place = [session.countryCode, session.ipAddress && `IP ${session.ipAddress}`].filter(Boolean).join(', ') || 'unknown'
  await enqueueEmail(deps, newSigninEmail, to.email, {
    name: to.name,
    device,
    place,
    time: session.createdAt.toISOString(),
    sessionsLink: appLink(deps.config, '/account/sessions')
  })
}
