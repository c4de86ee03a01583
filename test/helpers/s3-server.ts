// Moved to scripts/lib/s3-server.ts (the topology, scripts/lib/topology.ts, starts it too).
export * from '../../scripts/lib/s3-server.ts'
