import { Type, type Static } from '@sinclair/typebox'
import { checkUrl, fail } from './config-checks.ts'

// The SMS settings of loadConfig() (config.ts): Twilio's Messages API, or the log driver that
// writes each text to the log (development and tests; production refuses the SMS channel).

export const SmsEnv = Type.Object({
  SMS_PROVIDER: Type.Union([Type.Literal('log'), Type.Literal('twilio')], { default: 'log', description: 'log or twilio' }),
  TWILIO_ACCOUNT_SID: Type.Optional(Type.String({ pattern: '^AC[0-9a-fA-F]{32}$', description: 'a Twilio Account SID (AC and 32 hex digits)' })),
  TWILIO_AUTH_TOKEN: Type.Optional(Type.String({ minLength: 16, description: 'a Twilio auth token (or API key secret)' })),
  TWILIO_FROM: Type.Optional(Type.String({ pattern: '^(\\+[1-9][0-9]{6,14}|MG[0-9a-fA-F]{32})$', description: 'an E.164 sender number or a Messaging Service SID (MG and 32 hex digits)' })),
  TWILIO_BASE_URL: Type.String({ default: 'https://api.twilio.com', description: 'an http(s) URL (the Twilio API, or a stand-in)' }),
  SMS_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 10000, description: 'milliseconds, 100-60000: how long one send may take' })
})

export interface TwilioConfig {
  accountSid: string
  authToken: string
  /** A sender number (From) or a Messaging Service SID (MessagingServiceSid). */
  from: string
  baseUrl: string
}

export interface SmsConfig { provider: 'log' | 'twilio', twilio: TwilioConfig | undefined, timeoutMs: number }

export function smsConfig (env: Static<typeof SmsEnv>): SmsConfig {
  checkUrl('TWILIO_BASE_URL', env.TWILIO_BASE_URL, ['http:', 'https:'])
  const names = ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM'] as const
  if (env.SMS_PROVIDER === 'log') {
    // Half a configuration would silently log codes that were meant to be sent.
    for (const name of names) if (env[name] !== undefined) fail('SMS_PROVIDER', `must be twilio when ${name} is set`)
    return { provider: 'log', twilio: undefined, timeoutMs: env.SMS_TIMEOUT_MS }
  }
  for (const name of names) if (env[name] === undefined) fail(name, 'is required with SMS_PROVIDER=twilio (with TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM)')
  return {
    provider: 'twilio',
    twilio: { accountSid: env.TWILIO_ACCOUNT_SID!, authToken: env.TWILIO_AUTH_TOKEN!, from: env.TWILIO_FROM!, baseUrl: env.TWILIO_BASE_URL.replace(/\/+$/, '') },
    timeoutMs: env.SMS_TIMEOUT_MS
  }
}
