// Moved to scripts/lib/pgbouncer.ts (the topology, scripts/lib/topology.ts, starts it too).
export * from '../../scripts/lib/pgbouncer.ts'
