import { randomBytes, randomInt } from 'node:crypto'
import { v7 as uuidv7 } from 'uuid'

// Time and randomness are injected so TTLs, expiries and codes are testable without sleeping.

export interface Clock {
  now: () => Date
}

export const systemClock: Clock = { now: () => new Date() }

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  private current: number
  constructor (start: Date = new Date()) { this.current = start.getTime() }
  now (): Date { return new Date(this.current) }
  advance (ms: number): void { this.current += ms }
  set (at: Date): void { this.current = at.getTime() }
}

export interface Random {
  /** An opaque URL-safe token with `bytes` bytes of entropy. */
  token: (bytes?: number) => string
  /** A numeric one-time code of `digits` digits, uniformly distributed. */
  digits: (digits?: number) => string
  /** A time-ordered UUID (v7). */
  uuid: () => string
}

export const systemRandom: Random = {
  token: (bytes = 32) => randomBytes(bytes).toString('base64url'),
  digits: (digits = 6) => randomInt(0, 10 ** digits).toString().padStart(digits, '0'),
  uuid: () => uuidv7()
}

export const newId = (): string => uuidv7()
