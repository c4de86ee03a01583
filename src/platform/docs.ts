import { STATUS_CODES } from 'node:http'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifySchema, RouteOptions } from 'fastify'
import { Type, type TObject, type TSchema } from '@sinclair/typebox'
import { Problem, ProblemDetails } from './errors.ts'
import { keptForReplay } from './idempotency.ts'
import { bodyDefaultsToEmpty } from './route-hooks.ts'

// OpenAPI 3.1 at /docs/json, Swagger UI at /docs. Registered before any route so every route is
// collected; the onRoute hook adds the error responses any route can give (validation, rate
// limit, unexpected), so the document lists every status code a client can see.

function addCommonResponses (route: RouteOptions): void {
  if (route.schema?.hide) return
  const schema = (route.schema ??= {})
  const response = (schema.response ??= {}) as Record<string, unknown>
  const takesInput = Boolean(schema.body ?? schema.querystring ?? schema.params ?? schema.headers)
  if (takesInput) response['400'] ??= Problem
  if (route.config?.rateLimit !== false) response['429'] ??= Problem
  response['500'] ??= Problem
}

// The response headers a client can rely on. Routes declare the ones only they send (Location,
// with withLocation); documentRoute adds those that follow from platform rules.
const Header = (description: string, options: { format?: string } = {}) => Type.String({ description, ...options })
const REQUEST_ID = Header('The request\'s id: the X-Request-Id the client sent when it is well-formed, else one generated. Every problem carries it too (requestId).')
const RETRY_AFTER = Header('Seconds to wait before retrying.')
const REPLAYED = Header('"true" when this is the stored response of an earlier request with the same Idempotency-Key, replayed without running it again.')
const ETAG = Header('A weak validator of the answer: send it back in If-None-Match to get 304 while nothing changed.')
const IF_NONE_MATCH = Type.Object({
  'if-none-match': Type.Optional(Type.String({ pattern: '^[\\t -~]*$', description: 'The ETag of a copy you hold: 304 with no body while it is still current.' }))
})
const OPTIONAL_BODY = 'x-optional-body'

/** A 201 whose Location header names the created resource (the handler sets it). */
export function withLocation<T extends TSchema> (schema: T): T {
  return { ...schema, headers: { location: Header('The created resource\'s URL, relative to the API\'s origin.', { format: 'uri-reference' }) } }
}

type ResponseSchema = TSchema & { headers?: Record<string, TSchema> }
interface Facts { idempotent: boolean, cacheable: boolean }

function documentResponse (status: number, schema: ResponseSchema, facts: Facts): Record<string, unknown> {
  const headers: Record<string, TSchema> = { 'x-request-id': REQUEST_ID, ...schema.headers }
  if (status === 429) headers['retry-after'] = RETRY_AFTER
  if (facts.idempotent && keptForReplay(status)) headers['idempotent-replayed'] = REPLAYED
  if (facts.cacheable && (status === 200 || status === 304)) headers.etag = ETAG
  const description = schema.description ?? STATUS_CODES[status] ?? 'Response'
  // Every error leaves through the error handler as application/problem+json, whatever the
  // route produces on success (a file download's 404 is a problem, not an image).
  if ((schema as { $ref?: unknown }).$ref === ProblemDetails.$id) return { 'x-response-description': description, headers, content: { 'application/problem+json': { schema: Problem } } }
  return { ...schema, 'x-response-description': description, headers }
}

/** A parameter or member with a default may be left out: the validator fills it in. */
function defaultsOptional (schema: TSchema | undefined): TSchema | undefined {
  const object = schema as TObject | undefined
  if (object?.type !== 'object' || !object.required || !object.properties) return schema
  const required = object.required.filter((name) => object.properties[name]?.default === undefined)
  return { ...object, required: required.length > 0 ? required : undefined } as TSchema
}

/**
 * The document's view of a route, built once when the document is first asked for (never per
 * request): response headers, problem media type, optional inputs. Idempotency shows in the
 * route's Idempotency-Key header (idempotency.ts declares it); a public cacheable read in its 304.
 */
function documentRoute ({ schema, url, route }: { schema: FastifySchema, url: string, route: RouteOptions }): { schema: FastifySchema, url: string } {
  if (!schema || schema.hide) return { schema, url }
  const headers = schema.headers as TObject | undefined
  const responses = (schema.response ?? {}) as Record<string, ResponseSchema>
  const facts = { idempotent: headers?.properties?.['idempotency-key'] !== undefined, cacheable: responses['304'] !== undefined }
  const preValidation = [route.preValidation ?? []].flat()
  return {
    url,
    schema: {
      ...schema,
      querystring: defaultsOptional(schema.querystring as TSchema | undefined),
      body: defaultsOptional(schema.body as TSchema | undefined),
      headers: facts.cacheable ? Type.Object({ ...headers?.properties, ...IF_NONE_MATCH.properties }) : headers,
      response: Object.fromEntries(Object.entries(responses).map(([status, response]) => [status, documentResponse(Number(status), response, facts)])),
      ...(preValidation.includes(bodyDefaultsToEmpty) ? { [OPTIONAL_BODY]: true } : {})
    }
  }
}

/** Routes that take an empty body when none is sent say so: their request body is optional. */
function markOptionalBodies<D extends { paths?: object }> (document: D): D {
  for (const item of Object.values(document.paths ?? {}) as Array<Record<string, Record<string, any>>>) {
    for (const operation of Object.values(item)) {
      if (operation[OPTIONAL_BODY] === undefined) continue
      delete operation[OPTIONAL_BODY]
      if (operation.requestBody) operation.requestBody.required = false
    }
  }
  return document
}

export default fp(async (app) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Bazaar API',
        version: '0.1.0',
        description: 'Multi-vendor marketplace backend. Errors are RFC 9457 problem details ' +
          '(`application/problem+json`) with a stable `code` and the `requestId`. Mutating requests accept ' +
          'an `Idempotency-Key` header.'
      },
      servers: [{ url: app.config.publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          cookie: { type: 'apiKey', in: 'cookie', name: 'access_token' }
        }
      }
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`)
    },
    transform: documentRoute,
    transformObject: (document) => 'openapiObject' in document ? markOptionalBodies(document.openapiObject) : document.swaggerObject
  })

  app.addHook('onRoute', addCommonResponses)

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    // Served over plain http (development), the page's upgrade-insecure-requests would make
    // Safari send "Try it out" to https://, where nothing listens.
    ...(app.config.publicUrl.startsWith('http:') ? { transformStaticCSP: (csp: string) => csp.replace(/\s*upgrade-insecure-requests;?/, '') } : {}),
    uiConfig: { deepLinking: true, docExpansion: 'list' }
  })
}, { name: 'docs', dependencies: ['config'] })
