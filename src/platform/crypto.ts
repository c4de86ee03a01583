import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'

// Data sealed for Redis and job payloads: AES-256-GCM under a key derived (HKDF-SHA256) from
// ENCRYPTION_KEY. Lookup keys for emails and the like are HMACs under a second derived key, so
// a Redis dump reveals neither contents nor which addresses are known.

const VERSION = 1
const IV_BYTES = 12
const TAG_BYTES = 16

export class SealError extends Error {}

export interface Sealer {
  /** Encrypts and authenticates a JSON value; `context` binds it to its use (e.g. a key name). */
  seal: (value: unknown, context?: string) => string
  /** Opens a sealed value; throws SealError when it was tampered with or sealed for another context. */
  open: <T = unknown>(sealed: string, context?: string) => T
  /** A keyed hash (hex) for lookups: the same input always gives the same output. */
  lookupHash: (value: string) => string
  /** A keyed hash for secrets such as codes and tokens, stored instead of the secret. */
  secretHash: (value: string) => string
}

function derive (secret: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), info, 32))
}

export function createSealer (encryptionKey: string): Sealer {
  const sealKey = derive(encryptionKey, 'bazaar/seal/v1')
  const lookupKey = derive(encryptionKey, 'bazaar/lookup/v1')
  const secretKey = derive(encryptionKey, 'bazaar/secret/v1')

  return {
    seal (value, context = '') {
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv('aes-256-gcm', sealKey, iv)
      cipher.setAAD(Buffer.from(context, 'utf8'))
      const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()])
      return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]).toString('base64url')
    },
    open<T>(sealed: string, context = ''): T {
      const raw = Buffer.from(sealed, 'base64url')
      if (raw.length < 1 + IV_BYTES + TAG_BYTES || raw[0] !== VERSION) throw new SealError('sealed value is malformed')
      const iv = raw.subarray(1, 1 + IV_BYTES)
      const tag = raw.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES)
      const decipher = createDecipheriv('aes-256-gcm', sealKey, iv)
      decipher.setAAD(Buffer.from(context, 'utf8'))
      decipher.setAuthTag(tag)
      try {
        const plain = Buffer.concat([decipher.update(raw.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()])
        return JSON.parse(plain.toString('utf8')) as T
      } catch (err) {
        throw new SealError('sealed value failed authentication', { cause: err })
      }
    },
    lookupHash: (value) => createHmac('sha256', lookupKey).update(value).digest('hex'),
    secretHash: (value) => createHmac('sha256', secretKey).update(value).digest('hex')
  }
}

/** Constant-time comparison of two hex digests. */
export function sameDigest (a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex')
  const right = Buffer.from(b, 'hex')
  return left.length === right.length && timingSafeEqual(left, right)
}
