// Test files a Redis Cluster run of the suite (REDIS_CLUSTER_NODES set, scripts/test.ts) leaves
// out, each for a reason that is about the single Redis it needs, not about a cluster bug.
// Everything else runs on the cluster as it does on one Redis.

export interface ClusterExclusion { file: string, reason: string }

export const clusterExclusions: readonly ClusterExclusion[] = []
