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

const countryNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' })

/**
 * "London, United Kingdom": the city and the country's English name. A place the client claimed
 * says so: the account holder should not take an attacker's word for where they are.
 */
function placeOf (session: SessionView): string {
  if (!session.countryCode) return 'unknown'
  const place = [session.city, countryNames.of(session.countryCode)].filter(Boolean).join(', ')
  return session.locationSource === 'client' ? `${place} (as the device reported it)` : place
}

/** Emails the account holder that `session` signed in from a new device. */
export async function emailNewSignin (deps: Deps, to: { email: string, name: string }, session: SessionView): Promise<void> {
  const device = [session.browser, session.os && `on ${session.os}`, session.deviceName && `(${session.deviceName})`].filter(Boolean).join(' ') || 'an unknown device'
  await enqueueEmail(deps, newSigninEmail, to.email, {
    name: to.name,
    device,
    place: [placeOf(session), session.ipAddress && `IP ${session.ipAddress}`].filter(Boolean).join(', '),
    placedByDbIp: session.locationSource === 'ip',
    time: session.createdAt.toISOString(),
    sessionsLink: appLink(deps.config, '/account/sessions')
  })
}
