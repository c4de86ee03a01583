import { createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import multipart, { type MultipartFile } from '@fastify/multipart'
import type { FastifyInstance } from 'fastify'
import { fileTypeFromFile } from 'file-type'
import { AppError } from './errors.ts'
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
  new AppError(413, 'PAYLOAD_TOO_LARGE', `${field} is larger than ${maxBytes} bytes`, { errors: [{ pointer: `/body/${field}`, detail: `must be at most ${maxBytes} bytes` }] })

export async function storeUpload (storage: FileStorage, part: MultipartFile, options: { accept: readonly string[], visibility: Visibility, maxBytes: number }): Promise<StoredUpload> {
  const temp = await storage.tempPath()
  try {
    await pipeline(part.file, createWriteStream(temp))
    if (part.file.truncated) throw tooLarge(part.fieldname, options.maxBytes)
    const sniffed = await fileTypeFromFile(temp)
    if (!sniffed || !options.accept.includes(sniffed.mime)) {
      throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE',
        `${part.fieldname} must be ${options.accept.join(', ')} (detected from its content: ${sniffed?.mime ?? 'unknown'})`,
        { errors: [{ pointer: `/body/${part.fieldname}`, detail: `must be one of ${options.accept.join(', ')}` }] })
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
