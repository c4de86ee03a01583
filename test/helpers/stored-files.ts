import { existsSync } from 'node:fs'
import type { TestEnv } from './app.ts'

// Checks on uploaded files through the app's own storage (app.storage), never a folder: they
// hold on the local disk and on S3 (the topology run), where nothing lands in UPLOAD_DIR and
// the bucket is shared by every test file, so it cannot be listed as one test's files.

/** The storage key behind a public file URL: `.../files/<name>` is `public/<name>`. */
export function publicKey (url: string): string {
  return `public/${new URL(url).pathname.replace(/^\/files\//, '')}`
}

/** Whether the app's store holds a file under `key`. */
export async function isStored (env: Pick<TestEnv, 'app'>, key: string): Promise<boolean> {
  const file = await env.app.storage.open(key)
  // Opened only to see it is there: the stream (an S3 response body) must not hold its socket.
  file?.stream.destroy()
  return file !== null
}

/** The keys among `keys` that the app's store still holds. */
export async function storedOf (env: Pick<TestEnv, 'app'>, keys: readonly string[]): Promise<string[]> {
  const present = await Promise.all(keys.map((key) => isStored(env, key)))
  return keys.filter((_, i) => present[i])
}

export interface StorageWatch {
  /** Every key the app has stored a file under since the watch began, in order. */
  keys: () => string[]
  /** Those of them still in the store. */
  stored: () => Promise<string[]>
  /** Temporary upload paths handed out since the watch began that are still on disk. */
  leftTemporaryFiles: () => string[]
}

/**
 * From now on, records every key the app stores a file under and every temporary path it takes
 * for an upload, passing each call on unchanged: "which files did this test leave" can then be
 * answered on a store that holds other tests' files too. Watch before the uploads.
 */
export function watchStorage (env: Pick<TestEnv, 'app'>): StorageWatch {
  const storage = env.app.storage
  const put = storage.put.bind(storage)
  const tempPath = storage.tempPath.bind(storage)
  const keys: string[] = []
  const temporary: string[] = []
  storage.put = async (key, localPath) => {
    // Recorded before the call: a put that fails halfway may still have left the file.
    keys.push(key)
    return put(key, localPath)
  }
  storage.tempPath = async () => {
    const path = await tempPath()
    temporary.push(path)
    return path
  }
  return {
    keys: () => [...keys],
    stored: () => storedOf(env, keys),
    leftTemporaryFiles: () => temporary.filter((path) => existsSync(path))
  }
}
