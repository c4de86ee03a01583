import { mkdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import type { Config } from '../config.ts'
import { newId } from './clock.ts'
import { contentTypeOfKey, isStorageKey, type FileStorage, type StoredObject } from './storage.ts'

// Files in an S3-compatible bucket, shared by every API and worker copy. Objects are written
// without an ACL, so the bucket stays private: the API serves public files at /files/... and
// private ones (certificates) only after its own authorization check. Loaded only when
// S3_BUCKET is set (storage.ts), so the SDK costs a disk-only process nothing.

export type S3Config = NonNullable<Config['storage']['s3']>

export class S3Storage implements FileStorage {
  private readonly client: S3Client
  private readonly bucket: string

  /** `tempDir`: where uploads are spooled before they are sent (a local folder of this process). */
  constructor (config: S3Config, private readonly tempDir = join(tmpdir(), 'bazaar-uploads')) {
    this.bucket = config.bucket
    this.client = new S3Client({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      forcePathStyle: config.forcePathStyle,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
      // Checksums only where S3 demands them: the SDK's default CRC headers (aws-chunked
      // trailers for streams) are refused, or stored verbatim, by several S3-compatible services.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // A store that stops answering fails the request instead of holding it (and a socket) forever.
      // A download holds its S3 socket while the client reads the reply, so slow readers could use
      // up the SDK's default 50 sockets and stall every upload and removal: room for many more.
      requestHandler: { connectionTimeout: 5000, socketTimeout: 30000, httpAgent: { keepAlive: true, maxSockets: 512 }, httpsAgent: { keepAlive: true, maxSockets: 512 } }
    })
  }

  async tempPath (): Promise<string> {
    await mkdir(this.tempDir, { recursive: true })
    return join(this.tempDir, newId())
  }

  async put (key: string, localPath: string): Promise<void> {
    if (!isStorageKey(key)) throw new Error('invalid storage key')
    try {
      // A buffer, not a file stream: the SDK never retries a streamed body, and an upload is at
      // most UPLOAD_MAX_BYTES (multipart enforces it before we get here).
      const body = await readFile(localPath)
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentTypeOfKey(key) }))
    } finally {
      await rm(localPath, { force: true })
    }
  }

  async open (key: string): Promise<StoredObject | null> {
    if (!isStorageKey(key)) return null
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))
      return { stream: object.Body as Readable, size: object.ContentLength ?? 0, contentType: contentTypeOfKey(key) }
    } catch (err) {
      if (isMissing(err)) return null
      throw err
    }
  }

  /** Idempotent: deleting a key that is not there succeeds (S3 answers 204 either way). */
  async remove (key: string): Promise<void> {
    if (!isStorageKey(key)) throw new Error('invalid storage key')
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))
  }

  close (): void {
    this.client.destroy()
  }
}

/** NoSuchKey on AWS; some compatible services answer a bare 404. A missing bucket is an outage, not a missing file. */
function isMissing (err: unknown): boolean {
  const failure = err as { name?: string, $metadata?: { httpStatusCode?: number } }
  return failure.name === 'NoSuchKey' || (failure.$metadata?.httpStatusCode === 404 && failure.name !== 'NoSuchBucket')
}
