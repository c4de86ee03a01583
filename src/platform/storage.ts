import { mkdir, open, rename, rm, copyFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Readable } from 'node:stream'
import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { newId } from './clock.ts'
import type { Trx } from './db.ts'
import { addToOutbox } from './outbox.ts'

// Uploaded files live under generated keys, never the client's file name, on the local disk
// (development's default) or in an S3-compatible bucket (s3-storage.ts) every process shares.

export type Visibility = 'public' | 'private'

/** `public/<uuid>.<ext>` or `private/<uuid>.<ext>`; nothing else can name a stored file. */
const KEY = /^(public|private)\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[a-z0-9]{2,5}$/

export const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  webp: 'image/webp',
  pdf: 'application/pdf'
}
export const EXTENSIONS: Record<string, string> = Object.fromEntries(Object.entries(CONTENT_TYPES).map(([ext, type]) => [type, ext]))

export function isStorageKey (key: string): boolean {
  return KEY.test(key)
}

export function newStorageKey (visibility: Visibility, contentType: string): string {
  const ext = EXTENSIONS[contentType]
  if (!ext) throw new Error(`no extension for ${contentType}`)
  return `${visibility}/${newId()}.${ext}`
}

export function contentTypeOfKey (key: string): string {
  return CONTENT_TYPES[key.slice(key.lastIndexOf('.') + 1)] ?? 'application/octet-stream'
}

export interface StoredObject { stream: Readable, size: number, contentType: string }

export interface FileStorage {
  /** A fresh local path for a temporary upload (for the disk store, on the store's volume). */
  tempPath: () => Promise<string>
  /** Moves a complete temporary file into the store under `key`; the temporary file is gone after. */
  put: (key: string, localPath: string) => Promise<void>
  /** The file, or null when no file has this key. */
  open: (key: string) => Promise<StoredObject | null>
  /** Idempotent: removing a missing file succeeds. */
  remove: (key: string) => Promise<void>
  /** Releases connections, if the store holds any. */
  close?: () => void
}

export class LocalDiskStorage implements FileStorage {
  constructor (private readonly root: string) {}

  private pathOf (key: string): string {
    if (!isStorageKey(key)) throw new Error('invalid storage key')
    return join(this.root, key)
  }

  async tempPath (): Promise<string> {
    const dir = join(this.root, 'tmp')
    await mkdir(dir, { recursive: true })
    return join(dir, newId())
  }

  async put (key: string, localPath: string): Promise<void> {
    const target = this.pathOf(key)
    await mkdir(dirname(target), { recursive: true })
    try {
      await rename(localPath, target)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err
      await copyFile(localPath, target)
      await rm(localPath, { force: true })
    }
  }

  async open (key: string): Promise<StoredObject | null> {
    if (!isStorageKey(key)) return null
    // The file is opened first and streamed from that handle: a removal after the open (the
    // worker's clean-up of a replaced logo) cannot break a read already answered with its size.
    const handle = await open(this.pathOf(key), 'r').catch(() => null)
    if (!handle) return null
    try {
      const { size } = await handle.stat()
      return { stream: handle.createReadStream(), size, contentType: contentTypeOfKey(key) }
    } catch {
      await handle.close()
      return null
    }
  }

  async remove (key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true })
  }
}

/** The configured store: S3-compatible when S3_BUCKET is set, else the local disk. */
export async function createFileStorage (config: Pick<Config, 'storage' | 'uploadDir'>): Promise<FileStorage> {
  if (!config.storage.s3) return new LocalDiskStorage(config.uploadDir)
  const { S3Storage } = await import('./s3-storage.ts')
  return new S3Storage(config.storage.s3)
}

export default fp(async (app) => {
  const storage = await createFileStorage(app.config)
  app.decorate('storage', storage)
  app.addHook('onClose', async () => storage.close?.())
}, { name: 'storage', dependencies: ['config'] })

declare module 'fastify' {
  interface FastifyInstance {
    storage: FileStorage
  }
}

/** A stored file that a change orphans is removed by the worker, if and only if the change commits. */
const FILES_PER_JOB = 200

export async function removeFilesLater (trx: Trx, keys: Array<string | null | undefined>): Promise<void> {
  const present = keys.filter((k): k is string => typeof k === 'string' && k.length > 0)
  // In batches: a whole store's images would make one job too large to retry cheaply.
  for (let i = 0; i < present.length; i += FILES_PER_JOB) {
    await addToOutbox(trx, 'files', 'remove', { keys: present.slice(i, i + FILES_PER_JOB) })
  }
}
