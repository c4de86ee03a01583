import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { RouteOptions } from 'fastify'
import { Problem } from './errors.ts'

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
    }
  })

  app.addHook('onRoute', addCommonResponses)

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    uiConfig: { deepLinking: true, docExpansion: 'list' }
  })
}, { name: 'docs', dependencies: ['config'] })
