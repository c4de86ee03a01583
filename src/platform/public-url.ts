import type { Config } from '../config.ts'

// Links point at the addresses configured for them, never at the address a request happened to
// arrive on (a Host header is the client's to choose): API resources (files, images) at
// PUBLIC_URL, links in emails at APP_URL, the front end a person opens them in.

/** `path` (starting with '/') under PUBLIC_URL: a resource of this API. */
export function publicUrl (config: { publicUrl: string }, path: string): string {
  return `${config.publicUrl}${path}`
}

/** `path` (starting with '/', or empty) under APP_URL: a page of the front end, for an email. */
export function appLink (config: { appUrl: string }, path: string): string {
  return `${config.appUrl}${path}`
}

/**
 * The browser origins trusted with credentials: CORS answers them, and a cookie-authenticated
 * unsafe request must come from one (CSRF). CORS_ORIGINS, plus the API's own origin and the
 * front end's, which always call it.
 */
export function allowedOrigins (config: Pick<Config, 'corsOrigins' | 'publicUrl' | 'appUrl'>): string[] {
  return [...new Set([...config.corsOrigins, new URL(config.publicUrl).origin, new URL(config.appUrl).origin])]
}
