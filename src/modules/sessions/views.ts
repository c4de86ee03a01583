import type { Selectable } from 'kysely'
import type { Sessions } from '../../platform/db-types.ts'
import type { Sealer } from '../../platform/crypto.ts'
import type { EndReason, LocationSource, SessionType, SessionView } from './schemas.ts'
import { expiresAt, openDetails, type StoredSession } from './store.ts'

// A session as clients see it, from either of its homes: Redis while it is live (its personal
// details opened from the sealed field), Postgres for history.

/**
 * What placed a session. Sessions recorded before issue 15 (sealed in Redis, or rows the
 * migration left as they were) have no source: only a trusted proxy could give one a country then.
 */
export function locationSourceOf (recorded: string | null | undefined, countryCode: string | null): LocationSource {
  return (recorded as LocationSource | null | undefined) ?? (countryCode ? 'proxy' : 'none')
}

/** A live session (ended ones leave Redis). */
export function storedSessionView (sealer: Sealer, s: StoredSession): SessionView {
  const { authMethod: _authMethod, ...details } = openDetails(sealer, s)
  return {
    id: s.id,
    userId: s.userId,
    workspaceId: s.workspaceId,
    sessionType: s.sessionType,
    isActive: true,
    ...details,
    city: details.city ?? null,
    locationSource: locationSourceOf(details.locationSource, details.countryCode),
    totalRequests: s.totalRequests,
    pagesVisited: s.pagesVisited,
    actionsPerformed: s.actionsPerformed,
    createdAt: new Date(s.createdAt),
    lastSeenAt: new Date(s.lastSeenAt),
    expiresAt: new Date(expiresAt(s)),
    endedAt: null,
    endReason: null,
    sessionDurationSec: null
  }
}

export function sessionRowView (row: Selectable<Sessions>): SessionView {
  return {
    id: row.id,
    userId: row.userId,
    workspaceId: row.workspaceId,
    sessionType: row.sessionType as SessionType,
    isActive: row.isActive,
    ipAddress: row.ipAddress ?? '',
    countryCode: row.countryCode,
    city: row.city,
    latitude: row.latitude,
    longitude: row.longitude,
    timezone: row.timezone,
    locationSource: locationSourceOf(row.locationSource, row.countryCode),
    deviceType: row.deviceType ?? 'unknown',
    deviceName: row.deviceName,
    browser: row.browser,
    browserVersion: row.browserVersion,
    os: row.os,
    osVersion: row.osVersion,
    userAgent: row.userAgent,
    deviceFingerprint: row.deviceFingerprint ?? '',
    referrerUrl: row.referrerUrl,
    landingPage: row.landingPage,
    utmSource: row.utmSource,
    utmMedium: row.utmMedium,
    utmCampaign: row.utmCampaign,
    utmTerm: row.utmTerm,
    utmContent: row.utmContent,
    totalRequests: row.totalRequests,
    pagesVisited: row.pagesVisited,
    actionsPerformed: row.actionsPerformed,
    createdAt: row.createdAt,
    lastSeenAt: row.lastSeenAt,
    expiresAt: row.expiresAt,
    endedAt: row.endedAt,
    endReason: row.endReason as EndReason | null,
    sessionDurationSec: row.sessionDurationSec
  }
}
