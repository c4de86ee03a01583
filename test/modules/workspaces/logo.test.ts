import t from 'tap'
import { createTestEnv, eventually } from '../../helpers/app.ts'
import { approvedStore } from '../../helpers/commerce.ts'
import { multipart, PDF, PNG, WEBP } from '../../helpers/multipart.ts'
import { isStored, publicKey } from '../../helpers/stored-files.ts'

// Issue 15, item 6 (SPEC 7.1): PUT /workspaces/:id/logo answers a logoUrl that is served (the
// bytes uploaded, their sniffed type), and a replaced logo's file is removed (through the outbox
// and the real worker), so it is no longer served either.

t.test('the logo upload answers a served logoUrl; replacing it removes the old file', async (t) => {
  const env = await createTestEnv(t, { worker: true })
  const store = await approvedStore(env)
  const put = (content: Buffer, filename: string, contentType = 'image/png') => {
    const body = multipart([{ field: 'logo', filename, contentType, content }])
    return env.app.inject({ method: 'PUT', url: `/workspaces/${store.workspaceId}/logo`, payload: body.payload, headers: { ...store.owner.headers, ...body.headers } })
  }
  const served = (logoUrl: string) => env.app.inject({ method: 'GET', url: new URL(logoUrl).pathname })
  // Through the app's store, not a folder: on the topology run files live in S3.
  const stored = (logoUrl: string) => isStored(env, publicKey(logoUrl))

  const first = await put(PNG, '../../etc/logo.png')
  t.equal(first.statusCode, 200)
  const firstUrl = first.json().logoUrl as string
  t.match(firstUrl, new RegExp(`^${env.config.publicUrl}/files/[0-9a-f-]+\\.png$`), 'a URL under /files with a generated name, not the client\'s')
  const got = await served(firstUrl)
  t.equal(got.statusCode, 200)
  t.equal(got.headers['content-type'], 'image/png')
  t.same(got.rawPayload, PNG, 'the bytes uploaded')
  t.equal((await env.app.inject({ method: 'GET', url: `/workspaces/${store.workspaceId}`, headers: store.owner.headers })).json().logoUrl, firstUrl, 'the workspace shows it')
  t.ok(await stored(firstUrl), 'the app\'s store holds it')

  const second = await put(WEBP, 'logo.png', 'image/png')
  t.equal(second.statusCode, 200)
  const secondUrl = second.json().logoUrl as string
  t.not(secondUrl, firstUrl)
  t.match(secondUrl, /\.webp$/, 'typed by its bytes, not its name or declared type')
  t.equal((await served(secondUrl)).headers['content-type'], 'image/webp')

  await eventually(async () => !(await stored(firstUrl)), 15000).catch(() => {})
  t.notOk(await stored(firstUrl), 'the replaced file is gone from storage')
  t.equal((await served(firstUrl)).statusCode, 404, 'and no longer served')
  t.ok(await stored(secondUrl), 'the new one stays')
  t.equal((await served(secondUrl)).statusCode, 200)

  const notImage = await put(PDF, 'logo.png')
  t.equal(notImage.statusCode, 415, 'a file that is not an image is refused')
  t.equal((await env.app.inject({ method: 'GET', url: `/workspaces/${store.workspaceId}`, headers: store.owner.headers })).json().logoUrl, secondUrl, 'and changes nothing')
  t.ok(await stored(secondUrl), 'the logo in place is still stored')
})
