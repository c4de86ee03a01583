import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// Coverage is a gate (.taprc), so it must be stable: a Node child a test starts must not record
// coverage (test/helpers/child-coverage.ts says why). Every test file that starts one says so.
const root = fileURLToPath(new URL('../..', import.meta.url))
const files = (readdirSync(`${root}/test`, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts') && !f.startsWith('unit/'))
  .map((f) => `test/${f.split('\\').join('/')}`)

t.test('every test file that starts a Node process turns its coverage off', async (t) => {
  const spawning = files.filter((f) => /\b(spawn|fork|execFile)\w*\(\s*process\.execPath/.test(readFileSync(`${root}/${f}`, 'utf8')))
  t.ok(spawning.includes('test/helpers/processes.ts'), 'the scan sees the process helper')
  const careless = spawning.filter((f) => !readFileSync(`${root}/${f}`, 'utf8').includes('WITHOUT_COVERAGE'))
  t.same(careless, [], 'each passes WITHOUT_COVERAGE in the child\'s environment')
})
