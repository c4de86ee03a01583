import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { clusterExclusions } from '../../test/cluster-exclusions.ts'

// Which test files `npm run test:topology` runs against the topology's engines: the whole
// default suite (as .taprc selects it) minus the few that cannot hold there by their nature,
// each with its reason. A file fixed to hold belongs out of this list.

export interface Exclusion { file: string, reason: string }

export const TOPOLOGY_EXCLUSIONS: readonly Exclusion[] = [
  { file: 'test/platform/prepared-statements.test.ts', reason: 'counts the named statements Postgres holds for one client connection: the topology turns them off (DATABASE_PREPARED_STATEMENTS=false, as PgBouncer 1.18 in transaction mode cannot carry them), and through PgBouncer a client\'s transactions may run on different server connections' },
  { file: 'test/platform/pgbouncer.test.ts', reason: 'starts a PgBouncer of its own in front of the runner\'s DATABASE_URL and compares with going straight to Postgres: here that URL is already PgBouncer' }
]

/**
 * Every test file of the default run (.taprc: test/**\/*.test.ts but test/browser), less
 * test/topology, these exclusions and the Redis Cluster run's own (test/cluster-exclusions.ts).
 */
export function suiteFiles (root = 'test'): string[] {
  const excluded = new Set([...TOPOLOGY_EXCLUSIONS, ...clusterExclusions].map((e) => e.file))
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return ['test/browser', 'test/topology'].includes(path) ? [] : walk(path)
    return entry.name.endsWith('.test.ts') && !excluded.has(path) ? [path] : []
  })
  return walk(root).sort()
}

/** The multi-process tests (test/topology/*.test.ts). */
export function topologyFiles (dir = 'test/topology'): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.test.ts')).map((f) => join(dir, f)).sort() : []
}
