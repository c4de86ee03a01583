import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.ts'

// Text messages go through a pluggable sender. No provider is configured in this project yet:
// development and test log the message (so codes can be read locally); production has none
// and callers refuse the SMS channel (422 CHANNEL_UNAVAILABLE).

export interface SmsSender { send: (to: string, text: string) => Promise<void> }

export function createSmsSender (config: Pick<Config, 'env'>, log: FastifyBaseLogger): SmsSender | null {
  if (config.env === 'production') return null
  return {
    async send (to, text) {
      log.info({ sms: { to: `…${to.slice(-4)}`, text } }, 'SMS (development: logged, not sent)')
    }
  }
}
