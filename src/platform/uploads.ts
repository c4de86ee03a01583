import { createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import multipart, { type MultipartFile } from '@fastify/multipart'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { fileTypeFromFile } from 'file-type'
import { PayloadTooLarge, UnsupportedMediaType } from './errors.ts'
import { newStorageKey, type FileStorage, type Visibility } from './storage.ts'

// An upload is streamed to a temporary file, its type is sniffed from its bytes (the name and
// declared type are ignored), and only then is it moved into the store under a generated key.
// Whatever fails, the temporary file is removed.

export const MAX_FILES_PER_REQUEST = 5

/**
 * Registers multipart parsing, with our limits, in the calling plugin's scope only: the plugin
 * adds hooks to every route it covers, so only the domains that take uploads register it.
 */
export async function acceptUploads (app: FastifyInstance): Promise<void> {
  await app.register(multipart, {
    throwFileSizeLimit: true,
    limits: {
      fileSize: app.config.uploadMaxBytes,
      files: MAX_FILES_PER_REQUEST,
      fields: 20,
      fieldSize: 64 * 1024,
      parts: 30,
      headerPairs: 100
    }
  })
}

export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const
export const DOCUMENT_TYPES = ['application/pdf', ...IMAGE_TYPES] as const

export interface StoredUpload {
  key: string
  contentType: string
  size: number
  field: string
}

const tooLarge = (field: string, maxBytes: number) =>
  PayloadTooLarge('PAYLOAD_TOO_LARGE', `${field} is larger than ${maxBytes} bytes`, { field: `/body/${field}`, fieldDetail: `must be at most ${maxBytes} bytes` })

export async function storeUpload (storage: FileStorage, part: MultipartFile, options: { accept: readonly string[], visibility: Visibility, maxBytes: number }): Promise<StoredUpload> {
  const temp = await storage.tempPath()
  try {
    await pipeline(part.file, createWriteStream(temp))
    if (part.file.truncated) throw tooLarge(part.fieldname, options.maxBytes)
    const sniffed = await fileTypeFromFile(temp)
    if (!sniffed || !options.accept.includes(sniffed.mime)) {
      throw UnsupportedMediaType('UNSUPPORTED_MEDIA_TYPE',
        `${part.fieldname} must be ${options.accept.join(', ')} (detected from its content: ${sniffed?.mime ?? 'unknown'})`,
        { field: `/body/${part.fieldname}`, fieldDetail: `must be one of ${options.accept.join(', ')}` })
    }
    const key = newStorageKey(options.visibility, sniffed.mime)
    await storage.put(key, temp)
    return { key, contentType: sniffed.mime, size: part.file.bytesRead, field: part.fieldname }
  } catch (err) {
    if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(part.fieldname, options.maxBytes)
    throw err
  } finally {
    await rm(temp, { force: true })
  }
}

/**
 * Runs `work`, which stores uploads and records each in `stored`; if it fails, every file it
 * stored is removed: a request that failed keeps nothing half-done.
 */
export async function withStoredUploads<T> (app: { storage: FileStorage, log: FastifyBaseLogger }, work: (stored: StoredUpload[]) => Promise<T>): Promise<T> {
  const stored: StoredUpload[] = []
  try {
    return await work(stored)
  } catch (err) {
    // The request's own error is the answer; a file that could not be removed is logged, not lost track of.
    await Promise.all(stored.map((upload) => app.storage.remove(upload.key).catch((removal: Error) => {
      app.log.warn({ key: upload.key, err: removal.message }, 'could not remove an upload of a failed request')
    })))
    throw err
  }
}
