import { isIP } from 'node:net'
import type { Config } from '../../src/config.ts'
import { listenerUrl } from '../../src/config-checks.ts'

// What `npm start` prints once the API is ready. Every URL is on PUBLIC_URL's origin (by
// default the listen address as a browser here opens it): the origin email links, Swagger's
// server and the CORS/CSRF allow-list use, so "Try it out" on the printed /docs is same-origin.

type BannerConfig = Pick<Config, 'host' | 'port' | 'publicUrl' | 'smtpUrl' | 'mailDir' | 'mailPreview'>

/** The listen address as a URL this machine can connect to (a wildcard address through loopback). */
export function listenAddressUrl (host: string, port: number): string {
  const name = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : isIP(host) === 6 ? `[${host}]` : host
  return `http://${name}:${port}`
}

export function runningBanner (config: BannerConfig): string[] {
  const base = config.publicUrl
  // The mail page answers this machine only, asked by a loopback name (mail-preview.ts): printed
  // when the API listens on loopback (or everywhere), by that name; otherwise the folder alone.
  const onLoopback = listenerUrl(config.host, config.port)
  const mail = config.smtpUrl
    ? `sent through ${new URL(config.smtpUrl).host}`
    : config.mailPreview && new URL(onLoopback).hostname === 'localhost' ? `${onLoopback}/dev/mail (files in ${config.mailDir})` : config.mailDir
  const lines = [
    'Bazaar is running',
    `  API           ${base}`,
    `  API docs      ${base}/docs`,
    `  Mail outbox   ${mail}`,
    `  Admin         ${base}/admin (platform admins: sign in with an emailed code, then the queues)`
  ]
  // PUBLIC_URL set to another address (a proxy or tunnel in front): say where the API listens.
  if (new URL(base).origin !== new URL(listenerUrl(config.host, config.port)).origin) {
    lines.push(`  Listening on  ${listenAddressUrl(config.host, config.port)}`)
  }
  return lines
}
