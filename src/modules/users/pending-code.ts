import type { Deps } from '../../platform/deps.ts'
import { BadRequest } from '../../platform/errors.ts'
import { codeMatches, countTry, type CodeKind } from '../../platform/one-time-code.ts'

// A signed-in user's change that waits for its code (a new email, a new phone): one sealed value
// in Redis under the user's key, with the code's hash, judged the same way for both.

export interface PendingChange { codeHash: string | null, expiresAt: number }

/**
 * The pending change the code confirms, or 400 INVALID_CODE (no change waiting, expired, tries
 * spent, wrong code). `subject` binds the code to the user and the new value.
 */
export async function pendingChangeConfirmed<T extends PendingChange> (deps: Pick<Deps, 'redis' | 'sealer' | 'clock'>, kind: CodeKind, key: string,
  userId: string, subject: (pending: T) => string, code: string): Promise<T> {
  // Counted before anything is judged, so parallel guesses cannot exceed the budget.
  const withinTries = await countTry(deps.redis, kind, userId)
  const sealed = await deps.redis.get(key)
  const invalid = () => BadRequest('INVALID_CODE', 'The code is wrong or has expired.', { field: '/body/code', fieldDetail: 'is wrong or has expired' })
  if (!sealed) throw invalid()
  const pending = deps.sealer.open<T>(sealed, key)
  if (!withinTries || pending.expiresAt <= deps.clock.now().getTime()) throw invalid()
  if (!codeMatches(deps.sealer, kind, subject(pending), code, pending.codeHash)) throw invalid()
  return pending
}
