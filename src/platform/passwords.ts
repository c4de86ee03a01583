import { availableParallelism } from 'node:os'
import { hash, verify } from '@node-rs/argon2'
import pLimit from 'p-limit'

// argon2id with OWASP's parameters (19 MiB, 2 passes, parallelism 1). @node-rs/argon2 runs
// hashing on the libuv thread pool, off the event loop, and ships prebuilt binaries.

// Algorithm.Argon2id is 2; the package declares it as a const enum, which isolated modules cannot read.
const ARGON2ID = 2
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const

/**
 * At most (cores - 1) hashes at once. Hashing is CPU-bound; more at a time than there are spare
 * cores would only take CPU from the event loop, and every other request with it, while a
 * burst of sign-ins queues here instead.
 */
export const HASHING_CONCURRENCY = Math.max(1, availableParallelism() - 1)
const slot = pLimit(HASHING_CONCURRENCY)

export async function hashPassword (password: string): Promise<string> {
  return slot(() => hash(password, OPTIONS))
}

export async function verifyPassword (passwordHash: string, password: string): Promise<boolean> {
  return slot(async () => {
    try {
      return await verify(passwordHash, password)
    } catch {
      return false
    }
  })
}

let dummy: Promise<string> | undefined

/**
 * Spends the time of a real verification when there is no account (or no password) to check,
 * so a wrong email and a wrong password cannot be told apart by timing.
 */
export async function verifyAgainstNothing (password: string): Promise<false> {
  dummy ??= hashPassword('bazaar-timing-equaliser')
  await verifyPassword(await dummy, password)
  return false
}
