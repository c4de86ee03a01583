import type { Job } from 'bullmq'
import type { JobPayloads } from '../platform/queues.ts'
import type { FileStorage } from '../platform/storage.ts'

/** Removes stored files whose record is gone; removing a missing file is not an error. */
export function createFilesProcessor (deps: { storage: FileStorage }) {
  return async (job: Job<JobPayloads['files']>): Promise<{ removed: number }> => {
    for (const key of job.data.keys) await deps.storage.remove(key)
    return { removed: job.data.keys.length }
  }
}
