import { STATUS_CODES } from 'node:http'
import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { Type, type Static, type TSchema } from '@sinclair/typebox'

// RFC 9457 problem details. Every error leaves the process through toProblem(), so a 5xx
// never carries a stack, SQL or a secret, and every 4xx names what was wrong.

export const ProblemFieldError = Type.Object({
  pointer: Type.String({ description: 'JSON pointer into the request, e.g. /body/email' }),
  detail: Type.String()
})

export const ProblemDetails = Type.Object({
  type: Type.String({ description: 'URI identifying the problem type' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String({ description: 'stable machine-readable code, e.g. VALIDATION_FAILED' }),
  requestId: Type.String(),
  errors: Type.Optional(Type.Array(ProblemFieldError))
}, {
  $id: 'ProblemDetails',
  additionalProperties: true,
  examples: [{
    type: 'urn:bazaar:problem:validation-failed',
    title: 'Bad Request',
    status: 400,
    detail: 'body/email must match format "email"',
    code: 'VALIDATION_FAILED',
    requestId: '7d0e6c1e-5f53-4a6c-9a5e-0c4a7f1c2b11',
    errors: [{ pointer: '/body/email', detail: 'must match format "email"' }]
  }]
})
export type ProblemDetails = Static<typeof ProblemDetails>
export type ProblemFieldError = Static<typeof ProblemFieldError>

/** Reference to the shared problem schema, for route response maps. */
export const Problem = Type.Ref(ProblemDetails)

/** `{ 400: Problem, 404: Problem }` for the listed status codes. */
export function problems (...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, Problem]))
}

export interface ErrorOptions {
  /** JSON pointer into the request, e.g. '/body/email': the problem's `errors` names it. */
  field?: string
  /** What is wrong with `field`; defaults to the detail. */
  fieldDetail?: string
  extra?: Record<string, unknown>
  headers?: Record<string, string>
  cause?: unknown
}

export class AppError extends Error {
  readonly status: number
  readonly code: string
  readonly errors: ProblemFieldError[] | undefined
  readonly extra: Record<string, unknown> | undefined
  /** Response headers that belong to this error, e.g. retry-after. */
  readonly headers: Record<string, string> | undefined

  constructor (status: number, code: string, detail: string, options: ErrorOptions = {}) {
    super(detail, { cause: options.cause })
    this.name = 'AppError'
    this.status = status
    this.code = code
    this.errors = options.field === undefined ? undefined : [{ pointer: options.field, detail: options.fieldDetail ?? detail }]
    this.extra = options.extra
    this.headers = options.headers
  }
}

const factory = (status: number) => (code: string, detail: string, options?: ErrorOptions): AppError =>
  new AppError(status, code, detail, options)

export const BadRequest = factory(400)
export const Unauthorized = factory(401)
export const Forbidden = factory(403)
export const NotFound = factory(404)
export const Conflict = factory(409)
export const Gone = factory(410)
export const PayloadTooLarge = factory(413)
export const UnsupportedMediaType = factory(415)
export const Unprocessable = factory(422)
export const TooManyRequests = factory(429)
export const BadGateway = factory(502)
export const ServiceUnavailable = factory(503)

/** Headers for a TooManyRequests error. */
export function retryAfter (seconds: number): Record<string, string> {
  return { 'retry-after': String(seconds) }
}

/** A Postgres unique violation (SQLSTATE 23505), optionally on the named constraint. */
export function isUniqueViolation (err: unknown, constraint?: string): boolean {
  const e = err as { code?: unknown, constraint?: unknown } | null
  return e?.code === '23505' && (constraint === undefined || e.constraint === constraint)
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE'
}

// Fastify and plugin error codes whose status or message we refine.
const CODE_BY_FASTIFY_CODE: Record<string, [number, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'MALFORMED_BODY'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'MALFORMED_BODY'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'MALFORMED_BODY'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'PAYLOAD_TOO_LARGE'],
  FST_REQ_FILE_TOO_LARGE: [413, 'PAYLOAD_TOO_LARGE'],
  FST_FILES_LIMIT: [413, 'TOO_MANY_FILES'],
  FST_PARTS_LIMIT: [413, 'TOO_MANY_PARTS'],
  FST_FIELDS_LIMIT: [413, 'TOO_MANY_FIELDS'],
  FST_PROTO_VIOLATION: [400, 'MALFORMED_BODY'],
  FST_INVALID_MULTIPART_CONTENT_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FST_ERR_CTP_INVALID_TYPE: [415, 'UNSUPPORTED_MEDIA_TYPE'],
  FAST_JWT_INVALID_SIGNATURE: [401, 'UNAUTHORIZED']
}

// ioredis with no offline queue, and pg, fail like this while their server is unreachable or
// has just ended the connection (a restart): a temporary outage (503), not a bug (500).
const OUTAGE = /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Command timed out|MaxRetriesPerRequest|timeout exceeded when trying to connect|Connection terminated|is not queryable|terminating connection/
// Socket and name-resolution failures, by code (an AggregateError from a dual-stack connect has
// no message): a host that does not resolve is a managed database's DNS during a failover.
// Redis replies while it loads its data after a restart, or while a failover is under way.
const REDIS_OUTAGE_REPLY = /^(LOADING|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN) /
const OUTAGE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED'])
// SQLSTATE classes 08 (connection exception) and 57 (operator intervention: shutdown, admin
// termination, cancelled statement), and 53300 (too many connections).
const OUTAGE_SQLSTATE = /^(08|57)[0-9A-Z]{3}$|^53300$/

export function isDependencyOutage (error: unknown): boolean {
  const err = error as { name?: string, message?: string, code?: unknown }
  return OUTAGE.test(err.message ?? '') || err.name === 'MaxRetriesPerRequestError' ||
    (err.name === 'ReplyError' && REDIS_OUTAGE_REPLY.test(err.message ?? '')) ||
    (typeof err.code === 'string' && (OUTAGE_SQLSTATE.test(err.code) || OUTAGE_ERRNO.has(err.code)))
}

function kebab (code: string): string {
  return code.toLowerCase().replace(/_/g, '-')
}

interface AjvIssue { instancePath: string, message?: string, keyword: string, params: Record<string, unknown> }

function validationErrors (error: FastifyError): ProblemFieldError[] {
  const context = (error as FastifyError & { validationContext?: string }).validationContext ?? 'body'
  return (error.validation as AjvIssue[]).map((issue) => {
    let pointer = `/${context}${issue.instancePath}`
    // A missing field (`dependencies`: missing because another one is there) is named itself.
    if ((issue.keyword === 'required' || issue.keyword === 'dependencies') && typeof issue.params.missingProperty === 'string') {
      pointer += `/${issue.params.missingProperty}`
    } else if (issue.keyword === 'additionalProperties' && typeof issue.params.additionalProperty === 'string') {
      pointer += `/${issue.params.additionalProperty}`
    }
    const detail = issue.keyword === 'required' ? 'is required' : issue.message ?? 'is invalid'
    return { pointer, detail }
  })
}

export function toProblem (error: unknown, requestId: string): ProblemDetails & Record<string, unknown> {
  let status = 500
  let code = 'INTERNAL'
  let detail = 'An unexpected error occurred.'
  let errors: ProblemFieldError[] | undefined
  let extra: Record<string, unknown> | undefined

  if (error instanceof AppError) {
    ({ status, code, errors, extra } = error)
    detail = error.message
  } else if (error !== null && typeof error === 'object') {
    const fe = error as FastifyError
    if (Array.isArray(fe.validation)) {
      status = 400
      code = 'VALIDATION_FAILED'
      errors = validationErrors(fe)
      detail = errors.map((e) => `${e.pointer.slice(1)} ${e.detail}`).join('; ')
    } else if (fe.code && CODE_BY_FASTIFY_CODE[fe.code]) {
      [status, code] = CODE_BY_FASTIFY_CODE[fe.code]!
      detail = fe.message
    } else if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      status = fe.statusCode
      code = CODE_BY_STATUS[status] ?? 'BAD_REQUEST'
      detail = fe.message
    } else if (isDependencyOutage(error)) {
      status = 503
      code = 'DEPENDENCY_UNAVAILABLE'
      detail = 'A backing service is unavailable; retry shortly.'
    } else if (fe.statusCode === 503) {
      status = 503
      code = 'SERVICE_UNAVAILABLE'
      detail = 'The service is unavailable; retry later.'
    }
  }
  return {
    ...extra,
    type: `urn:bazaar:problem:${kebab(code)}`,
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    code,
    requestId,
    ...(errors ? { errors } : {})
  }
}

/** Unknown routes answer 404 in the problem shape (installed with the rate limiter in security.ts). */
export async function notFoundHandler (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  return sendProblem(reply, NotFound('NOT_FOUND', `route ${request.method} ${request.url.split('?')[0]} not found`))
}

/**
 * Fastify's frameworkErrors: a path the router cannot decode (`/%zz`) is refused before any
 * route or hook runs, so the answer gets the problem shape and the standard headers here.
 */
export function frameworkError (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id).header('x-content-type-options', 'nosniff')
  sendProblem(reply, error.code === 'FST_ERR_BAD_URL' ? BadRequest('BAD_URL', 'the path is not valid percent-encoding') : error)
}

export function sendProblem (reply: FastifyReply, error: unknown): FastifyReply {
  const problem = toProblem(error, reply.request.id)
  return reply.code(problem.status).type('application/problem+json').send(problem)
}

/** One error path for the whole app. */
export default fp(async (app) => {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const problem = toProblem(error, request.id)
    if (error instanceof AppError && error.headers) reply.headers(error.headers)
    if (problem.status >= 500) {
      request.log.error({ err: error }, 'request failed')
    } else if (error instanceof AppError === false && problem.status !== 404) {
      request.log.info({ problem: problem.code, detail: problem.detail }, 'request rejected')
    }
    return reply.code(problem.status).type('application/problem+json').send(problem)
  })
}, { name: 'errors' })
