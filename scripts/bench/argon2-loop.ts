import { verify } from '@node-rs/argon2'
import { hashPassword } from '../../src/platform/passwords.ts'

// The yardstick for sign-in: argon2id verifications with Bazaar's parameters and the API's
// hashing concurrency, straight on the library, for `duration` seconds; prints verifications/s.
const duration = Number(process.argv[2] ?? 5) * 1000
const concurrency = Number(process.argv[3] ?? 1)
const hash = await hashPassword('bench password 123')
let count = 0
const deadline = Date.now() + duration
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (Date.now() < deadline) {
    await verify(hash, 'bench password 123')
    count++
  }
}))
process.stdout.write(`${JSON.stringify({ perSecond: count / (duration / 1000) })}\n`)
