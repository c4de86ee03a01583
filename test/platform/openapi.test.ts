import t from 'tap'
import SwaggerParser from '@apidevtools/swagger-parser'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { createTestEnv } from '../helpers/app.ts'
import { createUser, login } from '../helpers/auth.ts'

// Issue 12 item 7: the document a client generator reads. Every operation is checked and every
// offender listed, so one failure names all that is missing, not just the first.

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']
const PROBLEM_REF = '#/components/schemas/ProblemDetails'
const OPERATION_ID = /^[a-z][a-zA-Z0-9]+$/

type Json = Record<string, any>

/** Every `examples` array of every schema in the (dereferenced) tree, with that schema. */
function schemaExamples (node: unknown, where: string, found: Array<{ where: string, schema: Json, example: unknown }>, seen = new Set<unknown>()): void {
  if (node === null || typeof node !== 'object' || seen.has(node)) return
  seen.add(node)
  const object = node as Json
  if (Array.isArray(object.examples) && (object.type !== undefined || object.anyOf !== undefined || object.properties !== undefined)) {
    for (const example of object.examples) found.push({ where, schema: object, example })
  }
  for (const [key, value] of Object.entries(object)) schemaExamples(value, `${where}/${key}`, found, seen)
}

/** The examples a media type object gives: `example`, `examples` (by name), or its schema's. */
function mediaExamples (media: Json): unknown[] {
  if (media.example !== undefined) return [media.example]
  if (media.examples !== undefined) return Object.values<Json>(media.examples).map((e) => e.value)
  return Array.isArray(media.schema?.examples) ? media.schema.examples : []
}

t.test('every operation has an id, tags, a summary, a description, honest responses and valid examples', async (t) => {
  const { app } = await createTestEnv(t)
  const document = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
  // Dereferenced, so each schema stands alone for Ajv (and a dangling $ref throws here).
  const resolved = await SwaggerParser.dereference(structuredClone(document)) as Json
  const ajv = new Ajv2020({ strict: false, allErrors: true, addUsedSchema: false, validateFormats: true })
  addFormats.default(ajv)
  const invalid = (schema: Json, value: unknown): string | null => {
    const validate = ajv.compile(schema)
    return validate(value) ? null : ajv.errorsText(validate.errors)
  }

  const offenders: string[] = []
  const seenIds = new Map<string, string>()
  let operations = 0
  for (const [path, item] of Object.entries<Json>(document.paths)) {
    for (const method of METHODS.filter((m) => item[m] !== undefined)) {
      operations++
      const name = `${method.toUpperCase()} ${path}`
      const operation = item[method]
      const plain = resolved.paths[path][method]
      const offend = (what: string) => offenders.push(`${name}: ${what}`)

      if (typeof operation.operationId !== 'string' || !OPERATION_ID.test(operation.operationId)) offend(`operationId ${operation.operationId} is not a camelCase name`)
      else if (seenIds.has(operation.operationId)) offend(`operationId ${operation.operationId} is also ${seenIds.get(operation.operationId)}'s`)
      else seenIds.set(operation.operationId, name)
      if (!Array.isArray(operation.tags) || operation.tags.length === 0) offend('no tags')
      if (!operation.summary) offend('no summary')
      if (!operation.description) offend('no description')
      else if (operation.description === operation.summary) offend('the description only repeats the summary')

      // Parameters: a path parameter is required; one with a default may be left out.
      const parameters: Json[] = plain.parameters ?? []
      for (const parameter of parameters) {
        if (parameter.in === 'path' && parameter.required !== true) offend(`path parameter ${parameter.name} is not required`)
        if (parameter.in !== 'path' && parameter.required === true && parameter.schema?.default !== undefined) offend(`${parameter.in} parameter ${parameter.name} has a default but is marked required`)
      }
      const idempotent = parameters.some((p) => p.in === 'header' && p.name === 'idempotency-key')

      // Request bodies: an example that is valid against the body's schema.
      for (const [type, media] of Object.entries<Json>(plain.requestBody?.content ?? {})) {
        const examples = mediaExamples(media)
        if (examples.length === 0) offend(`request body (${type}) has no example`)
        for (const example of examples) {
          const problem = invalid(media.schema, example)
          if (problem) offend(`request body example is invalid: ${problem}`)
        }
        for (const member of media.schema?.required ?? []) {
          if (media.schema.properties?.[member]?.default !== undefined) offend(`body member ${member} has a default but is marked required`)
        }
      }

      for (const [status, response] of Object.entries<Json>(operation.responses)) {
        const plainResponse = plain.responses[status]
        const code = Number(status)
        const headers = response.headers ?? {}
        if (headers['x-request-id'] === undefined) offend(`${status} does not document x-request-id`)
        if (code === 429 && headers['retry-after'] === undefined) offend('429 does not document retry-after')
        if (idempotent && code >= 200 && code < 300 && headers['idempotent-replayed'] === undefined) offend(`${status} of an idempotent route does not document idempotent-replayed`)
        if (operation.responses['304'] !== undefined && (code === 200 || code === 304) && headers.etag === undefined) offend(`${status} of a cacheable read does not document etag`)
        const content: Json = response.content ?? {}
        // Problems are application/problem+json, and only that.
        const problemTypes = Object.entries<Json>(content).filter(([, media]) => media.schema?.$ref === PROBLEM_REF).map(([type]) => type)
        if (problemTypes.length > 0 && (problemTypes.length !== 1 || problemTypes[0] !== 'application/problem+json')) offend(`${status} declares a problem as ${problemTypes.join(', ')}`)
        if (code >= 400 && Object.keys(content).includes('application/json') && content['application/json'].schema?.$ref === undefined && problemTypes.length === 0) {
          // A non-problem error body (health's 503 with the figures) is allowed; it says what it is.
          if (!response.description || response.description === 'Default Response') offend(`${status} has no description`)
        }
        if (code >= 200 && code < 300) {
          for (const [type, media] of Object.entries<Json>(plainResponse.content ?? {})) {
            if (media.schema?.format === 'binary') continue
            const examples = mediaExamples(media)
            if (examples.length === 0) offend(`${status} (${type}) has no example`)
            for (const example of examples) {
              const problem = invalid(media.schema, example)
              if (problem) offend(`${status} example is invalid: ${problem}`)
            }
          }
        }
      }
    }
  }

  // Examples given anywhere in a schema (a component, a property) are valid against it too.
  const everyExample: Array<{ where: string, schema: Json, example: unknown }> = []
  schemaExamples(resolved.components, '#/components', everyExample)
  schemaExamples(resolved.paths, '#/paths', everyExample)
  for (const { where, schema, example } of everyExample) {
    const problem = invalid(schema, example)
    if (problem) offenders.push(`${where}: example ${JSON.stringify(example).slice(0, 80)} is invalid: ${problem}`)
  }

  t.ok(operations >= 85, `the whole API is documented (${operations} operations)`)
  t.ok(everyExample.length >= 20, `schema examples were found and checked (${everyExample.length})`)
  t.same(offenders, [], 'no operation breaks a rule')
})

t.test('the documented headers and media types are what the API sends', async (t) => {
  const env = await createTestEnv(t)
  const { app } = env
  const live = await app.inject({ method: 'GET', url: '/health/live' })
  t.match(live.headers['x-request-id'], /.+/, 'x-request-id, even on the hook-free liveness probe')

  const categories = await app.inject({ method: 'GET', url: '/categories' })
  t.match(categories.headers.etag, /^W\/".+"$/, 'a cacheable read sends its ETag')
  const notModified = await app.inject({ method: 'GET', url: '/categories', headers: { 'if-none-match': String(categories.headers.etag) } })
  t.equal(notModified.statusCode, 304)
  t.equal(notModified.headers.etag, categories.headers.etag, 'and the 304 names it again')

  const missing = await app.inject({ method: 'GET', url: '/products/01936b2e-7c4e-7d4a-9b1e-3f2a1c0d9e8f' })
  t.equal(missing.statusCode, 404)
  t.match(missing.headers['content-type'], /^application\/problem\+json/, 'a problem is application/problem+json')
  t.equal(missing.json().requestId, missing.headers['x-request-id'], 'and carries the request id of its header')

  const user = await createUser(env)
  const session = await login(app, user.email)
  const create = () => app.inject({ method: 'POST', url: '/workspaces', headers: { ...session.headers, 'idempotency-key': 'create-once' }, payload: { name: 'Documented Headers' } })
  const created = await create()
  t.equal(created.statusCode, 201)
  t.equal(created.headers.location, `/workspaces/${created.json().id}`, 'a 201 names the created resource in Location')
  t.equal((await app.inject({ method: 'GET', url: String(created.headers.location), headers: session.headers })).statusCode, 200, 'and Location leads to it')
  t.notOk(created.headers['idempotent-replayed'], 'a first answer is not a replay')
  const replayed = await create()
  t.equal(replayed.headers['idempotent-replayed'], 'true', 'a replay says so')
  t.equal(replayed.headers.location, created.headers.location, 'and keeps the Location')
})

t.test('a rate-limited request is told when to retry', async (t) => {
  const { app } = await createTestEnv(t, { config: { rateLimitMax: 1 } })
  await app.inject({ method: 'GET', url: '/categories', remoteAddress: '203.0.113.9' })
  const limited = await app.inject({ method: 'GET', url: '/categories', remoteAddress: '203.0.113.9' })
  t.equal(limited.statusCode, 429)
  t.match(limited.headers['retry-after'], /^\d+$/, 'retry-after in seconds')
  t.match(limited.headers['content-type'], /^application\/problem\+json/)
})
