import t from 'tap'
import { createSealer } from '../../src/platform/crypto.ts'

t.test('sealed values open only with the same key and context, and detect tampering', async (t) => {
  const sealer = createSealer('k'.repeat(40))
  const value = { email: 'someone@example.test', name: 'Some One' }
  const sealed = sealer.seal(value, 'signup:1')
  t.notMatch(sealed, /someone|Some One/, 'no plaintext in the sealed form')
  t.same(sealer.open(sealed, 'signup:1'), value)
  t.not(sealer.seal(value, 'signup:1'), sealed, 'a fresh IV each time')

  t.throws(() => sealer.open(sealed, 'signup:2'), { name: 'Error', message: /failed authentication/ }, 'bound to its context')
  t.throws(() => createSealer('z'.repeat(40)).open(sealed, 'signup:1'), { message: /failed authentication/ }, 'bound to its key')
  const raw = Buffer.from(sealed, 'base64url')
  raw[raw.length - 1] = raw[raw.length - 1]! ^ 0x01
  t.throws(() => sealer.open(raw.toString('base64url'), 'signup:1'), { message: /failed authentication/ }, 'one flipped bit is detected')
  t.throws(() => sealer.open('short', 'signup:1'), { message: /malformed/ })
})

t.test('lookup hashes are stable and keyed', async (t) => {
  const a = createSealer('k'.repeat(40))
  const b = createSealer('j'.repeat(40))
  t.equal(a.lookupHash('x@example.test'), a.lookupHash('x@example.test'))
  t.not(a.lookupHash('x@example.test'), b.lookupHash('x@example.test'))
  t.not(a.lookupHash('123456'), a.secretHash('123456'), 'lookups and secrets use separate keys')
})
