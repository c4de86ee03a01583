import { randomBytes } from 'node:crypto'
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify'

// A client's request id is reused when it is sane; otherwise we mint one: a random prefix per
// process and a counter, unique across copies and cheaper than a UUID per request.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/
const requestIdPrefix = randomBytes(6).toString('hex')
let requestCounter = 0
export function generateRequestId (given: string | string[] | undefined): string {
  if (typeof given === 'string' && REQUEST_ID.test(given)) return given
  requestCounter = (requestCounter + 1) % Number.MAX_SAFE_INTEGER
  return `${requestIdPrefix}-${requestCounter.toString(36)}`
}

/**
 * The path, and the names of the query parameters without their values: queries carry search
 * terms (an admin looking a user up by email) and other personal data that logs must not keep.
 */
function loggedUrl (url: string): string {
  const at = url.indexOf('?')
  if (at < 0) return url
  const names = [...new URLSearchParams(url.slice(at + 1)).keys()]
  return `${url.slice(0, at)}?${names.map((name) => `${encodeURIComponent(name)}=…`).join('&')}`
}

/** Whether a request's logger writes `level`; asked first, as it is the cheapest check. */
function writes (log: FastifyBaseLogger, level: 'debug' | 'info' | 'error'): boolean {
  return (log as FastifyBaseLogger & { isLevelEnabled?: (l: string) => boolean }).isLevelEnabled?.(level) ?? true
}

/** One line per request, when it completes; the 'incoming request' line only at debug. */
export class RequestLog extends LogController {
  /**
   * Health probes are not logged: load balancers call them every few seconds. (Asked after the
   * level: `routeOptions` builds a new object on every read.)
   */
  override isLogDisabled (request: FastifyRequest): boolean {
    return request.routeOptions?.config?.probe === true || super.isLogDisabled(request)
  }

  override incomingRequest (request: FastifyRequest): void {
    if (writes(request.log, 'debug') && !this.isLogDisabled(request)) request.log.debug({ method: request.method, url: loggedUrl(request.url) }, 'incoming request')
  }

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (!writes(reply.log, error ? 'error' : 'info') || this.isLogDisabled(request)) return
    const line = { method: request.method, url: loggedUrl(request.url), statusCode: reply.statusCode, responseTime: Math.round(reply.elapsedTime * 10) / 10 }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request completed')
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A health probe: never logged per request, never rate limited. */
    probe?: boolean
  }
}
