import { connect } from 'node:net'
import t from 'tap'
import { createTestEnv } from '../helpers/app.ts'
import { approvedStore, createProduct } from '../helpers/commerce.ts'
import { PNG } from '../helpers/multipart.ts'
import { spawnServer } from '../helpers/processes.ts'

// Clients that give up mid-request (a phone losing signal mid-upload, a load balancer timing
// out) are ordinary traffic: whatever part of the body arrived, the process stays up.

function sendPartial (port: number, head: string, body: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head)
      socket.write(body)
      setTimeout(() => { socket.destroy(); resolve() }, 150)
    })
    socket.on('error', () => resolve())
  })
}

t.test('uploads and JSON bodies cut off mid-stream leave the process alive and serving', async (t) => {
  const env = await createTestEnv(t)
  const store = await approvedStore(env)
  const product = await createProduct(env, store)
  const profile = await env.app.db.selectFrom('vendorProfiles').select('id').where('userId', '=', store.ownerId).executeTakeFirstOrThrow()
  const server = await spawnServer(env.config)
  t.teardown(() => server.kill())

  const auth = store.owner.headers.authorization
  const boundary = '----cutoff'
  const partOf = (field: string) => Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${field}"; filename="a.png"\r\ncontent-type: image/png\r\n\r\n`),
    PNG, Buffer.alloc(4096, 7)
  ])
  const uploads = [
    [`/workspaces/${store.workspaceId}/products/${product.id}/images`, 'POST', 'images'],
    [`/workspaces/${store.workspaceId}/logo`, 'PUT', 'logo'],
    [`/vendor-profiles/${profile.id}/files`, 'PUT', 'logo']
  ] as const
  for (let round = 0; round < 3; round++) {
    await Promise.all([
      ...uploads.map(([path, method, field]) => sendPartial(server.port, `${method} ${path} HTTP/1.1\r\nhost: x\r\nauthorization: ${auth}\r\ncontent-type: multipart/form-data; boundary=${boundary}\r\ncontent-length: 1000000\r\n\r\n`, partOf(field))),
      sendPartial(server.port, 'POST /auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n', Buffer.from('{"email":"a@b.test","password":"'))
    ])
  }
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.ok(server.alive(), 'the process is alive')
  t.equal((await fetch(server.url + '/health/ready')).status, 200, 'and ready')
  t.notMatch(server.output(), /uncaught|unhandled/i, 'nothing went wrong on the side')
  const { readdirSync } = await import('node:fs')
  const left = (() => { try { return readdirSync(env.config.uploadDir, { recursive: true }) } catch { return [] } })()
  t.same(left.filter((name) => name !== 'tmp'), [], 'and no partial file is left behind')
})
