import { Type, type Static } from '@sinclair/typebox'
import { Page, PageQuery } from '../../platform/pagination.ts'
import { CountryCode } from '../../platform/country-code.ts'
import { DateTimeText, Nullable, NullableTimestamp, SingleLineText, Strict, Text, Timestamp, Uuid } from '../../platform/schema-types.ts'
import { TIME_ZONE_KEYWORD } from '../../platform/time-zone.ts'

const NullableString = Nullable(Type.String())
const NullableNumber = Nullable(Type.Number())

export const SessionType = Type.Union([Type.Literal('web'), Type.Literal('mobile'), Type.Literal('api')])
export type SessionType = Static<typeof SessionType>

export const EndReason = Type.Union([
  Type.Literal('logout'), Type.Literal('revoked'), Type.Literal('expired'), Type.Literal('reuse_detected'),
  Type.Literal('password_reset'), Type.Literal('suspended')
])
export type EndReason = Static<typeof EndReason>

const TextUpTo = (maxLength: number) => Text({ maxLength })

/** Where a session's place came from: a trusted proxy's headers, the client's analytics, the IP database, or nowhere. */
export const LocationSource = Type.Union([Type.Literal('proxy'), Type.Literal('client'), Type.Literal('ip'), Type.Literal('none')])
export type LocationSource = Static<typeof LocationSource>

/** What a client may tell about where it came from and what it is; recorded with its session. */
export const Analytics = Strict({
  referrerUrl: Type.Optional(TextUpTo(2048)),
  landingPage: Type.Optional(TextUpTo(2048)),
  utmSource: Type.Optional(TextUpTo(256)),
  utmMedium: Type.Optional(TextUpTo(256)),
  utmCampaign: Type.Optional(TextUpTo(256)),
  utmTerm: Type.Optional(TextUpTo(256)),
  utmContent: Type.Optional(TextUpTo(256)),
  deviceFingerprint: Type.Optional(Text({ minLength: 8, maxLength: 128, description: 'the client\'s own stable device id' })),
  timezone: Type.Optional(Text({ maxLength: 64, [TIME_ZONE_KEYWORD]: true, description: 'the device\'s IANA time zone, e.g. Europe/Paris; kept whatever places the session' })),
  countryCode: Type.Optional(CountryCode({ description: 'where the device is, an assigned ISO 3166-1 alpha-2 code (stored upper-case): places the session unless a trusted proxy did' })),
  // One line: the city lands in the plain-text new-sign-in email.
  city: Type.Optional(SingleLineText({ minLength: 1, maxLength: 128, description: 'one line; needs countryCode' })),
  latitude: Type.Optional(Type.Number({ minimum: -90, maximum: 90, description: 'degrees; needs longitude and countryCode' })),
  longitude: Type.Optional(Type.Number({ minimum: -180, maximum: 180, description: 'degrees; needs latitude and countryCode' })),
  sessionType: Type.Optional(SessionType)
}, {
  description: 'optional attribution, device and location details; sign-in works without any. A place given here (`countryCode`, optionally with `city` and ' +
    '`latitude` + `longitude`) places the session unless a trusted proxy\'s headers did (`locationSource: client`); without one the client address is looked up.',
  // A place is a country, optionally with a city and a point: not a city or a point alone.
  dependencies: { city: ['countryCode'], latitude: ['longitude', 'countryCode'], longitude: ['latitude', 'countryCode'] }
})
export type Analytics = Static<typeof Analytics>

export const SessionView = Type.Object({
  id: Uuid(),
  userId: Uuid(),
  workspaceId: Nullable(Uuid()),
  sessionType: SessionType,
  isActive: Type.Boolean(),
  current: Type.Optional(Type.Boolean()),
  ipAddress: Type.String(),
  countryCode: NullableString,
  city: NullableString,
  latitude: NullableNumber,
  longitude: NullableNumber,
  timezone: NullableString,
  locationSource: Type.Union(LocationSource.anyOf, {
    description: 'what placed the session (country, city, coordinates): `proxy` (a trusted proxy\'s headers), `client` (the client\'s `analytics`), ' +
      '`ip` (the in-process IP database; IP Geolocation by DB-IP, https://db-ip.com), `none` (e.g. a private address). The time zone is the client\'s when it sent one.'
  }),
  deviceType: Type.String({ description: 'desktop, mobile, tablet, tv, bot or unknown' }),
  deviceName: NullableString,
  browser: NullableString,
  browserVersion: NullableString,
  os: NullableString,
  osVersion: NullableString,
  userAgent: NullableString,
  deviceFingerprint: Type.String(),
  referrerUrl: NullableString,
  landingPage: NullableString,
  utmSource: NullableString,
  utmMedium: NullableString,
  utmCampaign: NullableString,
  utmTerm: NullableString,
  utmContent: NullableString,
  totalRequests: Type.Integer(),
  pagesVisited: Type.Integer(),
  actionsPerformed: Type.Integer(),
  createdAt: Timestamp(),
  lastSeenAt: Timestamp(),
  expiresAt: Timestamp(),
  endedAt: NullableTimestamp(),
  // Flat (the reasons and null side by side), as the document has always shown it.
  endReason: Type.Union([...EndReason.anyOf, Type.Null()]),
  sessionDurationSec: Nullable(Type.Integer())
}, {
  $id: 'SessionView',
  examples: [{
    id: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f',
    userId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e80',
    workspaceId: null,
    sessionType: 'web',
    isActive: true,
    current: true,
    ipAddress: '203.0.113.7',
    countryCode: 'FR',
    city: 'Paris',
    latitude: 48.8534,
    longitude: 2.3488,
    timezone: 'Europe/Paris',
    locationSource: 'ip',
    deviceType: 'desktop',
    deviceName: 'Windows desktop',
    browser: 'Chrome',
    browserVersion: '120.0.0.0',
    os: 'Windows',
    osVersion: '10',
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0.0.0',
    deviceFingerprint: '5f2c0d6f3a8e4b1c9d7e6f5a4b3c2d1e',
    referrerUrl: null,
    landingPage: '/',
    utmSource: 'newsletter',
    utmMedium: 'email',
    utmCampaign: 'launch',
    utmTerm: null,
    utmContent: null,
    totalRequests: 12,
    pagesVisited: 4,
    actionsPerformed: 1,
    createdAt: '2026-11-21T10:00:00.000Z',
    lastSeenAt: '2026-11-21T10:05:00.000Z',
    expiresAt: '2026-11-28T10:05:00.000Z',
    endedAt: null,
    endReason: null,
    sessionDurationSec: null
  }]
})
export type SessionView = Static<typeof SessionView>

export const SessionRef = Type.Ref(SessionView)
export const SessionList = Type.Object({ items: Type.Array(SessionRef) }, { examples: [{ items: SessionView.examples }] })
export const SessionPage = Page(SessionRef, { examples: [{ items: SessionView.examples, nextCursor: null }] })
export const EndedSessions = Type.Object({ ended: Type.Integer({ description: 'how many sessions were ended' }) }, { examples: [{ ended: 2 }] })

export const SessionIdParams = Type.Object({ id: Uuid() })

export const ActivityBody = Strict({
  pagesVisited: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  actionsPerformed: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 }))
}, { examples: [{ pagesVisited: 3, actionsPerformed: 1 }] })

export const CurrentSessionBody = Strict({
  workspaceId: Nullable(Uuid())
}, { examples: [{ workspaceId: '01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f' }] })

export const AdminSessionsQuery = Strict({
  userId: Type.Optional(Uuid()),
  workspaceId: Type.Optional(Uuid()),
  active: Type.Optional(Type.Boolean()),
  ...PageQuery
})
export type AdminSessionsQuery = Static<typeof AdminSessionsQuery>

export const StatsQuery = Strict({
  from: Type.Optional(DateTimeText({ description: 'default: 30 days before `to`' })),
  to: Type.Optional(DateTimeText({ description: 'default: now' }))
})
export type StatsQuery = Static<typeof StatsQuery>

const Bucket = Type.Array(Type.Object({ key: Type.String(), count: Type.Integer() }))

export const SessionStats = Type.Object({
  from: Timestamp(),
  to: Timestamp(),
  total: Type.Integer(),
  active: Type.Integer(),
  byDeviceType: Bucket,
  byCountry: Bucket,
  byUtmSource: Bucket
}, { examples: [{ from: '2026-10-22T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z', total: 3, active: 1, byDeviceType: [{ key: 'desktop', count: 2 }, { key: 'mobile', count: 1 }], byCountry: [{ key: 'FR', count: 3 }], byUtmSource: [{ key: 'unknown', count: 3 }] }] })
export type SessionStats = Static<typeof SessionStats>
