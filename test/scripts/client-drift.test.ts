import { readFile } from 'node:fs/promises'
import t from 'tap'
import { apiDocument, CLIENT_SCHEMA_FILE, generateClientSchema } from '../../scripts/client.ts'

t.test('the committed client types match the API document of this checkout', async (t) => {
  const generated = await generateClientSchema(await apiDocument())
  const committed = await readFile(CLIENT_SCHEMA_FILE, 'utf8')
  t.ok(generated.includes('"/orders/{id}"'), 'the generated types describe the API')
  t.equal(committed, generated, 'client/schema.ts is stale: run `npm run client`')
})
