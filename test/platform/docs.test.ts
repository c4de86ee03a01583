import t from 'tap'
import SwaggerParser from '@apidevtools/swagger-parser'
import { createTestEnv } from '../helpers/app.ts'

t.test('/docs/json is a valid OpenAPI 3.1 document listing every route with its responses', async (t) => {
  const { app } = await createTestEnv(t)
  const res = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(res.statusCode, 200)
  const document = res.json()
  t.equal(document.openapi, '3.1.0')

  // The parser validates against the OpenAPI schema and resolves every $ref.
  const parsed = await SwaggerParser.validate(structuredClone(document)) as any
  t.ok(parsed.paths['/health/ready'], 'health is documented')

  for (const [path, item] of Object.entries<any>(document.paths)) {
    for (const [method, operation] of Object.entries<any>(item)) {
      t.ok(operation.summary, `${method.toUpperCase()} ${path} has a summary`)
      t.ok(operation.responses['500'], `${method.toUpperCase()} ${path} documents 500`)
      const success = Object.keys(operation.responses).find((code) => code.startsWith('2'))
      t.ok(success, `${method.toUpperCase()} ${path} documents its success response`)
    }
  }
  t.ok(document.paths['/files/{key}'].get.responses['404'], 'declared error responses are listed')
  t.ok(document.components.schemas.ProblemDetails, 'problem details are one shared schema')
})

t.test('Swagger UI is served at /docs', async (t) => {
  const { app } = await createTestEnv(t)
  const res = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/html/)
  t.match(res.body, /swagger/i)
})
