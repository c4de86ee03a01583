// Moved to scripts/lib/pg-replica.ts (the topology, scripts/lib/topology.ts, starts it too).
export * from '../../scripts/lib/pg-replica.ts'
