import createClient, { type Client, type ClientOptions, type Middleware } from 'openapi-fetch'
import type { components, paths } from './schema.ts'

// The typed client of the Bazaar API: openapi-fetch over the types that `npm run client`
// generates into schema.ts from the OpenAPI document. The compiler checks every path,
// parameter, body and answer; a problem (4xx, 5xx) comes back as `error`, never thrown.
//
//   const api = createBazaarClient({ baseUrl: 'http://localhost:3000', accessToken: () => token })
//   const { data, error } = await api.GET('/products', { params: { query: { q: 'linen' } } })

export type { components, operations, paths } from './schema.ts'
export type BazaarClient = Client<paths>
/** The RFC 9457 problem every error answers with. */
export type Problem = components['schemas']['ProblemDetails']

export interface BazaarClientOptions extends ClientOptions {
  /** The API's origin, e.g. http://localhost:3000 */
  baseUrl: string
  /** Read before each request: the access token to send as a bearer token (undefined: none). */
  accessToken?: () => string | undefined
}

export function createBazaarClient ({ accessToken, ...options }: BazaarClientOptions): BazaarClient {
  const client = createClient<paths>(options)
  if (accessToken) client.use(bearerToken(accessToken))
  return client
}

function bearerToken (accessToken: () => string | undefined): Middleware {
  return {
    onRequest ({ request }) {
      const token = accessToken()
      if (token !== undefined) request.headers.set('authorization', `Bearer ${token}`)
      return request
    }
  }
}
