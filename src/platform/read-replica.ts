import type pg from 'pg'

// Whether a lag-tolerant read may go to the replica (DATABASE_READ_URL) right now. Every
// REPLICA_CHECK_MS the API compares the primary's WAL position with what the replica has
// replayed: the replica is used only while it has replayed everything the primary had written
// one check earlier, so what it serves is at most about two checks old, however far it falls
// behind later (then reads go to the primary until it catches up). And a write through this
// process that public reads show (a route with `changesCatalog`) sends them to the primary
// until the replica has replayed past that write: whoever made it reads it back at once,
// and the catalog cache is refilled from the primary, never with the state before it.

export const REPLICA_CHECK_MS = 1000

export type ReplicaState = 'starting' | 'caught-up' | 'lagging' | 'unreachable' | 'not-a-replica'

export interface ReplicaStatus {
  state: ReplicaState
  /** How many bytes of WAL the replica had not replayed at the last check (null: unknown). */
  lagBytes: number | null
}

export interface ReplicaWatch {
  /** Whether a lag-tolerant read may use the replica now. */
  usable: () => boolean
  /** A write public reads show has committed: read the primary until the replica has it. */
  written: () => void
  status: () => ReplicaStatus
  /** Runs one check now (also what the timer runs); resolves when it is done. */
  check: () => Promise<void>
  stop: () => void
}

/** A pg_lsn's text form (`16/B374D848`) as one number. */
export function lsnValue (text: string): bigint {
  const [high, low] = text.split('/')
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`)
}

async function position (pool: pg.Pool, expression: string): Promise<string | null> {
  // Simple protocol, no parameters: never a named statement, fine through PgBouncer.
  const { rows } = await pool.query<{ lsn: string | null }>(`select ${expression}::text as lsn`)
  return rows[0]?.lsn ?? null
}

export function watchReplica (primary: pg.Pool, replica: pg.Pool, onChange: (status: ReplicaStatus, err?: Error) => void,
  intervalMs = REPLICA_CHECK_MS): ReplicaWatch {
  let state: ReplicaState = 'starting'
  let lagBytes: number | null = null
  let previousPrimary: bigint | null = null
  // Writes announced, and how many of them a primary position sampled after them covers.
  let writes = 0
  let covered = 0
  let writeLsn = 0n
  let running: Promise<void> | null = null

  const settle = (next: ReplicaState, err?: Error) => {
    const changed = next !== state
    state = next
    if (changed) onChange({ state, lagBytes }, err)
  }

  const once = async () => {
    const announced = writes
    let primaryLsn: bigint
    try {
      primaryLsn = lsnValue((await position(primary, 'pg_current_wal_lsn()'))!)
    } catch {
      return // the primary's trouble is reported elsewhere; the replica's state stands
    }
    if (announced > covered) {
      writeLsn = primaryLsn
      covered = announced
    }
    let replayed: string | null
    try {
      replayed = await position(replica, 'pg_last_wal_replay_lsn()')
    } catch (err) {
      lagBytes = null
      return settle('unreachable', err as Error)
    }
    if (replayed === null) {
      lagBytes = null
      return settle('not-a-replica')
    }
    const replayedLsn = lsnValue(replayed)
    lagBytes = primaryLsn > replayedLsn ? Number(primaryLsn - replayedLsn) : 0
    const required = [previousPrimary ?? primaryLsn, writeLsn].reduce((a, b) => (a > b ? a : b))
    previousPrimary = primaryLsn
    settle(replayedLsn >= required ? 'caught-up' : 'lagging')
  }

  const check = () => {
    running ??= once().finally(() => { running = null })
    return running
  }
  const timer = setInterval(() => { check().catch(() => {}) }, intervalMs)
  timer.unref()

  return {
    usable: () => state === 'caught-up' && covered === writes,
    written: () => { writes++ },
    status: () => ({ state, lagBytes }),
    check,
    stop: () => clearInterval(timer)
  }
}
