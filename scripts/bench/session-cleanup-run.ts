import { loadConfigOrExit } from '../../src/config.ts'
import { createLogger } from '../../src/platform/logger.ts'
import { connectDeps } from '../../src/platform/deps.ts'
import { redisScripts } from '../../src/redis-scripts.ts'
import { createSessionCleanupProcessor } from '../../src/jobs/session-cleanup.ts'

// One run of the worker's session-cleanup job (the same processor, lock and defaults), in a
// process of its own as in the worker; prints { finalized, ms } as JSON. Used by bench-sessions.

const config = loadConfigOrExit()
const { deps, close } = await connectDeps(config, { log: createLogger(config, 'worker'), scripts: redisScripts })
const started = performance.now()
// Optional batch size and bucket count (0: the job's defaults), to compare batch shapes, and
// pace in sessions/s (negative: the job's default; 0: unpaced).
const [batchSize, buckets, rate = -1] = process.argv.slice(2).map(Number)
const finalize = { ...(batchSize ? { batchSize } : {}), ...(buckets ? { buckets } : {}), ...(rate >= 0 ? { rate } : {}) }
const result = await createSessionCleanupProcessor(deps, { finalize })()
const ms = Math.round(performance.now() - started)
await close()
process.stdout.write(JSON.stringify({ ...result, ms }) + '\n')
